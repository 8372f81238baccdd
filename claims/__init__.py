"""职工医疗互助保障 claim engine: policies as data, a pure engine, a thin shell."""

__version__ = "0.1.0"
ENGINE_VERSION = __version__
