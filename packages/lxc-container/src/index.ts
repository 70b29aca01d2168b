export { createContainer, validateContainerName, type AssembleOptions, type CreateOptions, type CreateResult, type ExtractLayers } from './create-container.js';
export { completeContainer, type CompleteOptions } from './complete-container.js';
export { planContainer, type ContainerPlan, type PlanOptions } from './plan.js';
export { defaultLxcPath, parseNetwork, type Network } from './lxc-host.js';
export type { NetworkRequest } from './network-setup.js';
export type { RunRequest, Volume } from './run-config.js';
export { ContainerError, isContainerError, type ContainerErrorCode } from './errors.js';
