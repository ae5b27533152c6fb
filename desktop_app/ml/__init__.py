"""The training / inference engine: sample data, hyper-parameters, data layout, models, the loop, prediction.
Uses: evaluation, formats, catalog, domain, settings, errors.

Torch-free at import (the CLI imports this package at start-up): `hparams`, `layout`, `callbacks`,
`metrics`, `errors`, `handle` and `sample_data` never import torch; `data`, `models`, `detection`, `trainer`,
`distributed` and `predict` do, so import those where they are used.

    sample_data.generate_shapes(out_dir, kind, n, size, seed) -> DatasetBundle
    hparams.schema_for(task, arch) / validate_config(schema, config) / parse_assignments(["k=v"])
    layout.write_layout(data_path, subsets, labels) / read_layout(data_path, subset) / read_labels(data_path)
    trainer.train(task, data_path, output_path, config, callbacks, resume_from) -> TrainResult
    distributed.train_distributed(..., world_size=N, backend="gloo" | "nccl") -> TrainResult
    predict.load_for_inference(weights_path, device) -> ModelBundle
    predict.predict_images(bundle, images, conf_threshold) -> list[list[Annotation]]
    models.build_model(arch, num_classes, ...) / find_pretrained_weights(arch, explicit)
"""

from desktop_app.ml.errors import TrainingError

__all__ = ["TrainingError"]
