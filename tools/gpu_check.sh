#!/usr/bin/env bash
# The GPU checks, as one script for a machine with an NVIDIA GPU (issue 16): the trainer beside a plain PyTorch
# loop (bench/train_overhead.py --gpu), the CUDA tests (tests/ml/test_ml_gpu.py), then the same bench compiled.
# On a machine whose Python lacks this project's pure-Python needs, put their wheels in .whl/ first.
# Logs go to $OUT (default ./gpu-check-out). About 7 minutes on an H200.
set -o pipefail
OUT=${OUT:-gpu-check-out}
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
nvidia-smi -L | tee "$OUT/gpu.txt"
python3 -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__, torch.cuda.get_device_name(0))" | tee -a "$OUT/gpu.txt"
echo "== bench/train_overhead.py --gpu"
timeout 240 python3 bench/train_overhead.py --gpu --steps 60 --repeats 3 2>&1 | tee "$OUT/bench_gpu.log"
echo "== tests/ml/test_ml_gpu.py"
timeout 200 python3 -m pytest -q -p no:cacheprovider -W default tests/ml/test_ml_gpu.py 2>&1 | tail -40 | tee "$OUT/gpu_tests.log"
echo "== bench/train_overhead.py --gpu --compile"
timeout ${COMPILE_TIMEOUT:-150} python3 bench/train_overhead.py --gpu --compile --steps 60 --repeats 1 2>&1 | tee "$OUT/bench_gpu_compile.log"
echo "== done"
