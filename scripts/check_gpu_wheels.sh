#!/usr/bin/env bash
# The GPU run's carry plan (docs/performance.md, "Taking the GPU figures"), tried as far as
# this machine allows: the same wheel set built for this machine's Python (3.11; the GPU
# machines have 3.12, whose wheels this Python cannot import), installed folder by folder
# with `scripts/gpu_wheels.py install` (--no-deps, --no-index) into a venv beside an
# "image" venv that has only what the GPU image has (torch, numpy 2, transformers, peft,
# accelerate), then imported, and a Triton stack run through `bench gpu-check --dry-run
# --parts triton` with numpy 2 in `neurall gpu` and numpy 1.26 in Triton's stub.
#
#   scripts/check_gpu_wheels.sh [SCRATCH]    (default /tmp/neurall-carry-check; minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=${1:-/tmp/neurall-carry-check}
rm -rf "$scratch" && mkdir -p "$scratch"
version() { .venv/bin/python -c "import importlib.metadata as m; print(m.version('$1'))"; }

.venv/bin/python scripts/gpu_wheels.py build --python-version 3.11 --dest "$scratch/wheels"

# The stand-in for the GPU image: its packages only (torch from this machine's disk).
python3 -m venv "$scratch/image"
"$scratch/image/bin/pip" install --quiet torch=="$(version torch | cut -d+ -f1)" \
    "numpy>=2,<2.4" transformers=="$(version transformers)" peft=="$(version peft)" \
    accelerate=="$(version accelerate)"

# On the GPU machine `--system-site-packages` shows the venv the image's packages; here
# the image is itself a venv, which `--system-site-packages` does not reach, so a .pth
# stands in for it.
image_site=$("$scratch/image/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
for folder in "$scratch"/wheels/*/; do
    "$scratch/image/bin/python" scripts/gpu_wheels.py install "$folder" --venv "$scratch/neurall-venv"
    venv_site=$("$scratch/neurall-venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    echo "$image_site" > "$venv_site/zz-image.pth"
done
du -sh "$scratch"/wheels/*

python="$scratch/neurall-venv/bin/python"
"$python" scripts/gpu_wheels.py check
NEURALL_TRITON_STUB_PYTHON="$scratch/neurall-venv-stub" \
    "$python" -m bench gpu-check --dry-run --parts triton --out-dir "$scratch/out"
