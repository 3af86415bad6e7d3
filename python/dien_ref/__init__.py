"""PyTorch reference of docs/model.md: module attribute names give the weight-file names."""
from .model import DienRef, default_config
from .safetensors_io import read_safetensors, write_safetensors

__all__ = ["DienRef", "default_config", "read_safetensors", "write_safetensors"]
