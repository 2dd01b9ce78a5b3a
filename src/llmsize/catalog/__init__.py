"""GPUs, servers and LLM architectures, packaged as YAML with a source on every entry."""

from llmsize.catalog.schema import PRECISIONS, Gpu, LlmArch, Precision, Server
from llmsize.catalog.store import Catalog, load_catalog

__all__ = ["PRECISIONS", "Catalog", "Gpu", "LlmArch", "Precision", "Server", "load_catalog"]
