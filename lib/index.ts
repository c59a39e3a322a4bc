/** dgr-notebooks: the shared library the notebooks import (compiled to build/lib). */
export { tf, versions, NativeBackendError } from './tf';
export * from './profile';
export * from './data/idx';
export * from './data/registry';
export * from './data/mnist';
