"""Build script shared by colcon (ament_python) and pip."""

from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = "warp_refine_ros"
HERE = Path(__file__).parent


def share_files(folder: str) -> list[tuple[str, list[str]]]:
    """Install every file under `folder` into share/<package>/<folder>, keeping sub-folders."""
    entries: dict[str, list[str]] = {}
    for path in sorted((HERE / folder).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            relative = path.relative_to(HERE)
            entries.setdefault(f"share/{PACKAGE}/{relative.parent}", []).append(str(relative))
    return sorted(entries.items())


COMMANDS = {
    "bag_label": "bag_label",
    "synth_drive": "synth_drive",
    "eval_labels": "eval_labels",
    "train_seg": "train_seg",
    "train_refiner": "train_refiner",
    "build_engines": "build_engines",
    "adapt_labeler": "adapt_labeler",
    "label_node": "label_node",
    "review_export": "review_export",
    "export_dataset": "export_dataset",
    "suggest_keyframes": "suggest_keyframes",
    "publish_keyframes": "publish_keyframes",
}

setup(
    name=PACKAGE,
    version="0.1.0",
    description="Warp-Refine Propagation: auto-labeling robot camera video from sparse keyframes",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    package_data={PACKAGE: ["py.typed"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        *share_files("launch"),
        *share_files("config"),
        *share_files("models"),
    ],
    install_requires=[
        "numpy>=1.24",
        "opencv-python-headless>=4.8",
        "onnxruntime>=1.17",
        "onnx>=1.15",
        "rosbags>=0.10",
        "PyYAML>=6.0",
        "tqdm>=4.60",
        "matplotlib>=3.7",
        "Pillow>=9.0",  # palette (indexed-colour) label PNGs, which OpenCV expands to colours
    ],
    extras_require={
        # torch is pinned by the Makefile to a CPU build; any torch >= 2.2 works.
        "train": ["torch>=2.2", "tensorboard>=2.14"],
        "cluster": ["ray>=2.9"],
        # TensorRT engines use torch CUDA tensors for buffers and streams (a CUDA build on GPU machines).
        "tensorrt": ["tensorrt>=10.0", "torch>=2.2"],
        # Learned motion (RAFT) export; torchvision must match the installed torch.
        "motion": ["torchvision"],
        # datasets loads the Hugging Face export back in its tests; exporting needs nothing more.
        "dev": ["pytest>=7.4", "ruff>=0.5", "datasets>=5.0"],
    },
    entry_points={
        "console_scripts": [f"{name} = {PACKAGE}.cli.{module}:main" for name, module in COMMANDS.items()],
    },
    zip_safe=False,
)
