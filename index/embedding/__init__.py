"""Sentence embedding: the model interface, one module per backend (torch, ONNX) and the factory that picks one."""
