import pino, { type Logger } from "pino";

export type { Logger };

/** JSON logs; credentials never reach them. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "botmox-cp" },
      redact: {
        paths: ["req.headers.authorization", "headers.authorization", "api_key", "*.api_key", "secret", "*.secret"],
        censor: "[redacted]",
      },
    },
    destination,
  );
}
