"""The jobs: train, compress, search, evaluate, export and bench. They are the only modules that
compose the boxes below them (data, models, training, methods, recipes, ONNX, artifacts) and
return plain results; the CLI only parses arguments and prints. Each job module is imported on
use (``finlite.jobs.compress`` pulls in torch, ``finlite.jobs.bench`` ONNX Runtime)."""
