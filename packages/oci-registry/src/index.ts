export { openRegistry, RegistryArchive, RegistryImage, type OpenRegistryOptions } from './image.js';
export { parseReference, formatReference, registryHost, isLoopback, type ImageReference } from './reference.js';
export { RepositoryClient, MAX_MANIFEST_SIZE, MANIFEST_ACCEPT, type RegistryClientOptions, type FetchedManifest } from './client.js';
export { BlobCache, defaultCacheDir, type CacheEntry, type BlobWriter } from './cache.js';
export { lookupCredentials, defaultAuthFiles, runCredentialHelper, type Credentials } from './auth-config.js';
export { parseChallenge, type Challenge } from './auth.js';
export { Transport, systemCa, makeDispatcher, type TransportOptions, type HttpResponse, type HttpBody } from './transport.js';
export { RegistryError, isRegistryError, registryCause, type RegistryErrorCode } from './errors.js';
