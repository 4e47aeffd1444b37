"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
/**
 * `npm run demo`. Prints what the project proves so far: the runtimes it pins and the state
 * machine every adapter shares. The per-runtime conformance matrix joins as the adapters land.
 */
var core_1 = require("@closenotify/core");
var runtimes_ts_1 = require("./runtimes.ts");
function printRuntimes() {
    var _a;
    console.log('Runtimes (pinned, from the npm registry):');
    for (var _i = 0, _b = (0, runtimes_ts_1.pinnedRuntimes)(); _i < _b.length; _i++) {
        var runtime = _b[_i];
        console.log("  ".concat(runtime.name.padEnd(5), " ").concat((_a = runtime.version) !== null && _a !== void 0 ? _a : 'MISSING'));
    }
}
function printStateMachine() {
    var legal = core_1.SOCKET_STATES.flatMap(function (state) {
        return core_1.SOCKET_EVENTS.filter(function (event) { return core_1.TRANSITIONS[state][event] !== core_1.ILLEGAL; }).map(function (event) { return ({
            state: state,
            event: event,
            next: core_1.TRANSITIONS[state][event],
        }); });
    });
    console.log("\nState machine (@closenotify/core): ".concat(core_1.SOCKET_STATES.length, " states \u00D7 ").concat(core_1.SOCKET_EVENTS.length, " events, ") +
        "".concat(legal.length, " legal transitions"));
    var _loop_1 = function (state) {
        var moves = legal.filter(function (t) { return t.state === state && t.next !== state; });
        if (moves.length === 0)
            return "continue";
        console.log("  ".concat(state.padEnd(11), " ").concat(moves.map(function (t) { return "".concat(t.event, " \u2192 ").concat(t.next); }).join(', ')));
    };
    for (var _i = 0, SOCKET_STATES_1 = core_1.SOCKET_STATES; _i < SOCKET_STATES_1.length; _i++) {
        var state = SOCKET_STATES_1[_i];
        _loop_1(state);
    }
}
printRuntimes();
printStateMachine();
var missing = (0, runtimes_ts_1.pinnedRuntimes)().filter(function (runtime) { return runtime.version === null; });
if (missing.length > 0) {
    console.error("\nMissing runtime binaries: ".concat(missing.map(function (r) { return r.name; }).join(', '), " (run npm test or npm run demo)"));
    process.exitCode = 1;
}
