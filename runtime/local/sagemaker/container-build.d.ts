/** Types of container-build.js, which stays JavaScript so runtime/run-compiled.js can load it before anything is compiled. */
export declare const CONTAINER_SOURCE_FOLDERS: readonly ['containers', 'runtime'];
export declare const COMPILED_NODE_FLAGS: readonly string[];
export declare function containerBuild(repoRoot: string): string;
export declare function sourceFolder(moduleUrl: string): string;
export declare function compiledContainerArgs(repoRoot: string): string[];
export declare function compiledRunArgs(repoRoot: string, source: string): string[];
