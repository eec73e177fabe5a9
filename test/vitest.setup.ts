import { afterAll } from "vitest";
import { killLeftoverChildren } from "./support/child.js";

afterAll(killLeftoverChildren);
