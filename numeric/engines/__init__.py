"""The engines: one loss, evaluated in every way superloss knows.

- :mod:`~numeric.engines.pointwise`: the exact loss and its gradient at one point, no closed form;
- :mod:`~numeric.engines.batch`: the same at many points in one array computation;
- :mod:`~numeric.engines.compiled`: a closed form compiled to value, gradient and Hessian
  (its code generator is :mod:`~numeric.engines.codegen`);
- :mod:`~numeric.engines.regimes`: the closed form of whichever regime a point lies in;
- :mod:`~numeric.engines.montecarlo`: plain sampling, the independent check of all of them;
- :mod:`~numeric.engines.lockstep`: many searches whose evaluations are batched together;
- :mod:`~numeric.engines.weights`: the circuit's weights as functions of the parameters, which the
  pointwise and batched engines share.
"""
