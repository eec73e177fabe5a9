import { requirePrivilege } from "../auth.js";
import { PveError, PveState, type Vm, type VmStatus } from "../state.js";
import { vmSummary } from "./cluster.js";
import { num, str, type Handler, type HandlerContext } from "./context.js";

type Transition = { task: string; from?: VmStatus[]; to: VmStatus; error: (vm: Vm) => string };

const ACTIONS: Record<string, Transition> = {
  start: { task: "qmstart", from: ["stopped"], to: "running", error: (vm) => (vm.status === "stopped" ? "" : `VM ${vm.vmid} already running`) },
  stop: { task: "qmstop", to: "stopped", error: () => "" },
  shutdown: { task: "qmshutdown", from: ["running", "paused"], to: "stopped", error: (vm) => `VM ${vm.vmid} not running` },
  reboot: { task: "qmreboot", from: ["running"], to: "running", error: (vm) => `VM ${vm.vmid} not running` },
  reset: { task: "qmreset", from: ["running", "paused"], to: "running", error: (vm) => `VM ${vm.vmid} not running` },
  suspend: { task: "qmsuspend", from: ["running"], to: "paused", error: (vm) => `VM ${vm.vmid} not running` },
  resume: { task: "qmresume", from: ["paused"], to: "running", error: (vm) => (vm.status === "running" ? `VM ${vm.vmid} is not paused` : `VM ${vm.vmid} not running`) },
};

function powerAction(action: string, transition: Transition): Handler {
  return (ctx: HandlerContext) => {
    const vm = ctx.state.vm(str(ctx, "node"), num(ctx, "vmid"));
    requirePrivilege(ctx.grant, `/vms/${vm.vmid}`, "VM.PowerMgmt");
    if (vm.template && action === "start") throw new PveError(500, "you can't start a vm if it's a template");
    if (!ctx.params.skiplock) PveState.assertUnlocked(vm);
    return ctx.tasks.start({
      node: vm.node,
      type: transition.task,
      id: vm.vmid,
      user: ctx.user,
      durationMs: ctx.timings.powerMs,
      run: (log) => {
        if (vm.lock && !ctx.params.skiplock) throw new Error(`VM ${vm.vmid} is locked (${vm.lock})`);
        if (transition.from && !transition.from.includes(vm.status)) throw new Error(transition.error(vm));
        log(`${action} VM ${vm.vmid}: UPID ok`);
        vm.status = transition.to;
        if (transition.to === "running" && action !== "reboot" && action !== "resume") vm.startedAt = Date.now();
      },
    });
  };
}

export const vmPowerHandlers: Record<string, Handler> = {
  ...Object.fromEntries(Object.entries(ACTIONS).map(([action, transition]) => [`POST /nodes/{node}/qemu/{vmid}/status/${action}`, powerAction(action, transition)])),
  "GET /nodes/{node}/qemu/{vmid}/status/current": (ctx) => {
    const vm = ctx.state.vm(str(ctx, "node"), num(ctx, "vmid"));
    requirePrivilege(ctx.grant, `/vms/${vm.vmid}`, "VM.Audit");
    return { ...vmSummary(vm), qmpstatus: vm.status, agent: 0 };
  },
};
