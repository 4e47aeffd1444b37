"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.repoRoot = void 0;
exports.pinnedRuntimes = pinnedRuntimes;
var node_child_process_1 = require("node:child_process");
var node_fs_1 = require("node:fs");
var node_path_1 = require("node:path");
var node_url_1 = require("node:url");
exports.repoRoot = (0, node_path_1.join)((0, node_path_1.dirname)((0, node_url_1.fileURLToPath)(import.meta.url)), '..', '..', '..');
/** The runtimes the project pins: Node is the one running us; Bun and Deno come from the npm registry. */
function pinnedRuntimes() {
    var bin = function (name) { return (0, node_path_1.join)(exports.repoRoot, 'node_modules', '.bin', name); };
    var versionOf = function (path) {
        var _a, _b;
        if (!(0, node_fs_1.existsSync)(path))
            return null;
        var output = (0, node_child_process_1.execFileSync)(path, ['--version'], { encoding: 'utf8' });
        return (_b = (_a = /(\d+\.\d+\.\d+)/.exec(output)) === null || _a === void 0 ? void 0 : _a[1]) !== null && _b !== void 0 ? _b : null;
    };
    return [
        { name: 'node', path: process.execPath, version: process.versions.node },
        { name: 'bun', path: bin('bun'), version: versionOf(bin('bun')) },
        { name: 'deno', path: bin('deno'), version: versionOf(bin('deno')) },
    ];
}
