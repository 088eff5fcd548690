"""ONNX -> TensorRT: optimisation profiles, engine builds, parity checks against ONNX Runtime, engine sets.

The runtime side (loading and running engines) is :mod:`warp_refine_ros.engines.tensorrt`; the
command is ``build_engines`` (:mod:`warp_refine_ros.cli.build_engines`).
"""
