/** dgr-notebooks: the shared library the notebooks import (compiled to build/lib). */
export { tf, versions, NativeBackendError } from './tf';
export type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Scalar, Rank } from './tf';
export * from './profile';
export * from './data/idx';
export * from './data/registry';
export * from './data/mnist';
export * from './data/mat';
export * from './data/svhn';
export * from './data/digits32';
export * from './figures';
export * from './engine';
export * from './report';
export * from './notebook/scholar';
export * from './notebook/mixed-loss';
export * from './notebook/gan';
export * from './notebook/chain';
export * from './notebook/experiments';
export * from './notebook/domains';
