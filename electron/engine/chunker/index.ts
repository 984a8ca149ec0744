// Public entry of the chunker module: restic-compatible content-defined chunking and the GF(2)
// polynomial helpers a repository config needs (new polynomial on init, validation on open).
export { Chunker, chunkStream, createChunker, MAX_SIZE, MIN_SIZE, WasmChunker } from './chunker';
export { computeTables, isIrreducible, parsePolynomial, randomPolynomial, POLYNOMIAL_DEGREE, WINDOW_SIZE } from './polynomial';
export type { RabinTables } from './polynomial';
export { wasmKernel } from './wasm';
