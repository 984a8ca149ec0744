// Public face of storage/: the Backend contract and its implementations. Other engine modules
// import from here, never from the individual files.

export { BackendError } from './backend';
export type { Backend, BackendErrorKind, FileInfo, FileType, Handle } from './backend';
export { LocalBackend, classifyErrno, toBackendError } from './local';
