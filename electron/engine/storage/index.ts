// Public face of storage/: the Backend contract and its implementations. Other engine modules
// import from here, never from the individual files.

export { BackendError } from './backend';
export type { Backend, BackendErrorKind, FileInfo, FileType, Handle } from './backend';
export { LocalBackend, classifyErrno, toBackendError } from './local';
export { RetryBackend, RetryAbortedError } from './retry';
export type { RetryOptions } from './retry';
export { FaultyBackend } from './faulty';
export type { FaultyOptions, FaultRule } from './faulty';
export { S3Backend } from './s3';
export type { S3BackendOptions } from './s3';
export { parseLocation } from './location';
export type { Location } from './location';
export { RestBackend } from './rest';
export type { RestBackendOptions } from './rest';
export { RcloneBackend } from './rclone';
export type { RcloneBackendOptions } from './rclone';
export { SftpBackend } from './sftp';
export type { SftpBackendOptions, HostKeyPolicy } from './sftp';
