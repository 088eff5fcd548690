"""The torch array backend gives the numpy backend's answers, operation by operation and over a chain.

Where OpenCV samples on its 1/32-pixel fixed-point grid (probabilities of 19 classes, g's upsampling,
cv2.resize) the torch backend is bit-exact, and these tests say so. Where OpenCV samples at the
exact coordinates with fused multiply-adds (1-, 3- and 4-channel images: the trust mask's image warp,
the support map) the two may differ in the last bit, so they are compared within a tolerance.
"""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from itertools import pairwise

import cv2
import numpy as np
import pytest

from warp_refine_ros.engines.base import Segmentation
from warp_refine_ros.labels import LabelSpec
from warp_refine_ros.propagation.ops import ArrayOps, NumpyOps
from warp_refine_ros.propagation.probabilities import NO_CLASS
from warp_refine_ros.synth import DriveConfig, render_drive

torch = pytest.importorskip("torch")

from warp_refine_ros.propagation.ops.torch_bilinear import remap, remap_quantises, resize  # noqa: E402
from warp_refine_ros.propagation.ops.torch_ops import TorchOps  # noqa: E402

DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
SIZES = [(480, 640), (241, 481), (9, 13)]  # (H, W): VGA, odd sizes, smaller than any camera
GRIDS = {(480, 640): (61, 79), (241, 481): (23, 30), (9, 13): (2, 3)}  # g's coarse grid: never a divisor
NUMPY = NumpyOps()


pytestmark = pytest.mark.usefixtures("one_thread")


def agreement(first: np.ndarray, second: np.ndarray) -> float:
    return float(np.mean(first == second))


@cache
def drive_frame(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """A rendered street image (H, W, 3) and its exact labels (H, W), cropped for sizes under 16."""
    config = DriveConfig(width=max(width, 16), height=max(height, 16), frames=1, seed=4)
    frame = render_drive(config).frames[0]
    return frame.image[:height, :width].copy(), frame.labels[:height, :width].copy()


def smooth_flow(rng: np.random.Generator, height: int, width: int, amplitude: float) -> np.ndarray:
    """A smooth random backward flow (H, W, 2): sub-pixel everywhere, out of the image along an edge,
    and on a 1/64-pixel grid in every other row, where rounding to OpenCV's 1/32 grid meets ties."""
    flow = cv2.resize(rng.normal(0, amplitude, (4, 5, 2)).astype(np.float32), (width, height))
    flow += rng.uniform(-amplitude, amplitude, 2).astype(np.float32)
    flow[::2] = np.round(flow[::2] * 64) / 64
    return flow


def moved(image: np.ndarray, flow: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The next camera image: ``image`` moved along ``flow``, sensor noise, and a new object."""
    sampling = NUMPY.sampling(flow)
    warped = cv2.remap(image, sampling.map_x, sampling.map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    noisy = warped.astype(np.int16) + rng.normal(0, 4, warped.shape).astype(np.int16)
    height, width = image.shape[:2]
    top, left = rng.integers(0, height // 2 + 1), rng.integers(0, width // 2 + 1)
    noisy[top : top + height // 4 + 1, left : left + width // 5 + 1] = rng.integers(0, 256, 3)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def coarse_segmentation(
    spec: LabelSpec, labels: np.ndarray, grid: tuple[int, int], seed: int
) -> Segmentation:
    """g's output: a noisy softmax around the truth on a coarse grid that does not divide the image."""
    rng = np.random.default_rng(seed)
    small = cv2.resize(labels, grid[::-1], interpolation=cv2.INTER_NEAREST)
    logits = 4.0 * spec.one_hot(small) + rng.normal(0, 1.5, (*grid, spec.num_classes)).astype(np.float32)
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return Segmentation(exp / exp.sum(axis=-1, keepdims=True), labels.shape)


# --- the sampler against OpenCV --------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("border", [cv2.BORDER_CONSTANT, cv2.BORDER_REPLICATE])
@pytest.mark.parametrize(
    ("channels", "dtype"), [(c, np.float32) for c in (1, 2, 3, 4, 5, 19)] + [(c, np.uint8) for c in (1, 2, 3)]
)
def test_remap_follows_opencv(device, border, channels, dtype):
    rng = np.random.default_rng(channels)
    source = (rng.random((23, 31, channels)) * (255 if dtype == np.uint8 else 1)).astype(dtype)
    map_x = rng.uniform(-3, 34, (17, 29)).astype(np.float32)
    map_y = rng.uniform(-3, 26, (17, 29)).astype(np.float32)
    map_x[::2] = np.round(map_x[::2] * 64) / 64  # ties of the 1/32 rounding
    expected = cv2.remap(source, map_x, map_y, cv2.INTER_LINEAR, borderMode=border).reshape(17, 29, channels)
    planes = torch.from_numpy(source).permute(2, 0, 1).contiguous().to(device)
    maps = torch.from_numpy(map_x).to(device), torch.from_numpy(map_y).to(device)
    mode = "constant" if border == cv2.BORDER_CONSTANT else "replicate"
    sampled = remap(planes, *maps, mode).permute(1, 2, 0).cpu().numpy()
    if remap_quantises(channels, dtype == np.uint8):  # OpenCV's fixed-point path
        assert np.array_equal(sampled, expected)
    elif dtype == np.uint8:  # exact coordinates, where OpenCV fuses multiply-adds: a rounding may tip
        assert np.abs(sampled.astype(int) - expected).max() <= 1
        assert agreement(sampled, expected) >= 0.999
    else:
        np.testing.assert_allclose(sampled, expected, rtol=0, atol=3e-7)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    ("grid", "size"), [((61, 79), (480, 640)), ((23, 30), (360, 480)), ((2, 3), (9, 13))]
)
def test_resize_is_opencvs_bit_for_bit(device, grid, size):
    coarse = np.random.default_rng(0).random((*grid, 19)).astype(np.float32)
    expected = cv2.resize(coarse, size[::-1], interpolation=cv2.INTER_LINEAR)
    resized = resize(torch.from_numpy(coarse).permute(2, 0, 1).contiguous().to(device), size)
    assert np.array_equal(resized.permute(1, 2, 0).cpu().numpy(), expected)


# --- each operation, both backends ----------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("size", SIZES)
def test_warped_labels_are_the_same(spec, device, size):
    ops = TorchOps(device)
    _, labels = drive_frame(*size)
    flow = smooth_flow(np.random.default_rng(1), *size, amplitude=6.0)
    expected = NUMPY.warp(NUMPY.one_hot(spec, labels), NUMPY.sampling(flow))
    warped = ops.warp(ops.one_hot(spec, labels), ops.sampling(flow))
    assert np.array_equal(ops.to_numpy(warped), expected)  # probabilities, hence labels and confidence
    found, reference = ops.channels_and_confidence(warped), NUMPY.channels_and_confidence(expected)
    assert np.array_equal(found[0], reference[0]) and np.array_equal(found[1], reference[1])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("size", SIZES)
def test_trust_masks_and_support_agree_at_every_tau(device, size):
    ops = TorchOps(device)
    rng = np.random.default_rng(2)
    source, _ = drive_frame(*size)
    flow = smooth_flow(rng, *size, amplitude=4.0)
    image = moved(source, flow, rng)
    samplings = NUMPY.sampling(flow), ops.sampling(flow)
    assert np.array_equal(samplings[1].inside.cpu().numpy(), samplings[0].inside)
    for tau in (5.0, 7.3, 20.0, 40.0, 80.0):
        expected = NUMPY.trust(image, source, samplings[0], tau)
        trusted = ops.trust(ops.image(image), ops.image(source), samplings[1], tau)
        assert agreement(trusted.cpu().numpy(), expected) >= 0.999, tau
    support = NUMPY.support(NUMPY.warp(NUMPY.full_support(size), samplings[0]), samplings[0], expected)
    moved_support = ops.support(ops.warp(ops.full_support(size), samplings[1]), samplings[1], trusted)
    assert np.abs(ops.to_uint8(moved_support).astype(int) - NUMPY.to_uint8(support)).max() <= 1


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("size", SIZES)
def test_inpainting_takes_gs_upsampled_probabilities_where_untrusted(spec, device, size):
    ops = TorchOps(device)
    rng = np.random.default_rng(3)
    _, labels = drive_frame(*size)
    warped = rng.random((*size, spec.num_classes)).astype(np.float32)
    trusted = rng.random(size) < 0.7
    coarse = coarse_segmentation(spec, labels, GRIDS[size], seed=3)
    full = Segmentation(rng.random((*size, spec.num_classes)).astype(np.float32), size)  # at image size
    for segmentation in (coarse, full):
        expected = NUMPY.inpaint(warped.copy(), trusted, segmentation)
        inpainted = ops.inpaint(ops.from_numpy(warped), torch.from_numpy(trusted).to(device), segmentation)
        assert np.array_equal(ops.to_numpy(inpainted), expected)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("size", SIZES)
def test_semantic_only_labels_are_the_same(spec, device, size):
    _, labels = drive_frame(*size)
    segmentation = coarse_segmentation(spec, labels, GRIDS[size], seed=4)
    semantic = TorchOps(device).semantic(segmentation, 0.9)
    assert np.array_equal(TorchOps(device).to_numpy(semantic), NUMPY.semantic(segmentation, 0.9))


@pytest.mark.parametrize("device", DEVICES)
def test_arg_max_gives_ties_to_the_highest_channel_and_empty_pixels_no_class(device):
    probabilities = np.zeros((2, 3, 4), dtype=np.float32)
    probabilities[0, 0] = [0.5, 0.5, 0, 0]
    probabilities[0, 1] = [0.25, 0.25, 0.25, 0.25]
    probabilities[0, 2] = [0.1, 0.6, 0.3, 0]
    probabilities[1, 0] = [0, 0.998, 0, 0.002]  # 254.99 + 0.5 -> 255
    probabilities[1, 1] = [0, 0, 0.9961, 0]  # 254.01 + 0.5 -> 254
    ops = TorchOps(device)
    channels, confidence = ops.channels_and_confidence(ops.from_numpy(probabilities))
    expected = NUMPY.channels_and_confidence(probabilities)
    assert channels.tolist() == expected[0].tolist() == [[1, 3, 1], [1, 2, NO_CLASS]]
    assert ops.channels(ops.from_numpy(probabilities)).tolist() == NUMPY.channels(probabilities).tolist()
    assert NUMPY.channels(probabilities).tolist() == expected[0].tolist()
    assert confidence.tolist() == expected[1].tolist()


@pytest.mark.parametrize("device", DEVICES)
def test_one_hot_and_what_the_refiner_takes_and_gives_are_the_same(spec, device):
    """Omega's engine takes numpy channels and a numpy bool trust mask, and gives numpy probabilities."""
    ops = TorchOps(device)
    source, labels = drive_frame(241, 481)
    labels = labels.copy()
    labels[:10] = spec.ignore_id
    assert np.array_equal(ops.to_numpy(ops.one_hot(spec, labels)), NUMPY.one_hot(spec, labels))
    rng = np.random.default_rng(5)
    flow = smooth_flow(rng, 241, 481, amplitude=4.0)
    image = moved(source, flow, rng)
    expected = NUMPY.mask(NUMPY.trust(image, source, NUMPY.sampling(flow), 20.0))
    trusted = ops.mask(ops.trust(ops.image(image), ops.image(source), ops.sampling(flow), 20.0))
    assert isinstance(trusted, np.ndarray) and trusted.dtype == bool and trusted.shape == (241, 481)
    assert 0 < expected.mean() < 1 and agreement(trusted, expected) >= 0.999
    refined = rng.random((241, 481, spec.num_classes)).astype(np.float32)
    refined /= refined.sum(axis=-1, keepdims=True)
    on_device = ops.from_numpy(refined.copy())
    np.testing.assert_array_equal(ops.to_numpy(on_device), refined)
    assert np.array_equal(ops.channels(on_device), NUMPY.channels(refined))


@pytest.mark.parametrize("device", DEVICES)
def test_a_flow_already_on_the_device_samples_the_same(device):
    flow = smooth_flow(np.random.default_rng(6), 30, 40, amplitude=3.0)
    ops = TorchOps(device)
    uploaded, given = ops.sampling(flow), ops.sampling(torch.from_numpy(flow).to(device))
    for name in ("map_x", "map_y", "inside"):
        assert torch.equal(getattr(uploaded, name), getattr(given, name))


# --- chains of steps: what the propagation's labels depend on ----------------------------------------


def chain(
    ops: ArrayOps,
    spec: LabelSpec,
    steps: list[tuple[np.ndarray, np.ndarray, np.ndarray, Segmentation]],
    labels: np.ndarray,
    tau: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Warp-inpaint along ``steps`` of (source image, image, flow, g): channels, confidence and support."""
    probabilities = ops.one_hot(spec, labels)
    support = ops.full_support(labels.shape)
    for source, image, flow, segmentation in steps:
        sampling = ops.sampling(flow)
        trusted = ops.trust(ops.image(image), ops.image(source), sampling, tau)
        support = ops.support(support, sampling, trusted)
        probabilities = ops.inpaint(ops.warp(probabilities, sampling), trusted, segmentation)
    return (*ops.channels_and_confidence(probabilities), ops.to_uint8(support))


def assert_same_labels(
    expected: tuple[np.ndarray, ...], found: tuple[np.ndarray, ...], *, labels: float
) -> None:
    assert agreement(found[0], expected[0]) >= labels
    for uint8_map in (1, 2):  # confidence and support within 1/255
        assert np.abs(found[uint8_map].astype(int) - expected[uint8_map]).max() <= 1


def random_steps(spec: LabelSpec, size: tuple[int, int], count: int) -> tuple[np.ndarray, list]:
    """A keyframe label and ``count`` steps of a camera moving along smooth random flows."""
    rng = np.random.default_rng(7)
    image, labels = drive_frame(*size)
    steps = []
    for index in range(count):
        flow = smooth_flow(rng, *size, amplitude=3.0)
        following = moved(image, flow, rng)
        steps.append((image, following, flow, coarse_segmentation(spec, labels, GRIDS[size], seed=index)))
        image = following
    return labels, steps


@pytest.mark.parametrize("device", DEVICES)
def test_ten_warp_inpaint_steps_end_with_the_same_labels(spec, device):
    labels, steps = random_steps(spec, (241, 481), 10)
    expected = chain(NUMPY, spec, steps, labels, tau=20.0)
    assert_same_labels(expected, chain(TorchOps(device), spec, steps, labels, tau=20.0), labels=0.999)


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
def test_ten_steps_of_a_rendered_drive_with_dis_flow_end_with_the_same_labels(spec, device):
    from warp_refine_ros.engines.dis import DisMotion

    frames = render_drive(DriveConfig(width=640, height=480, frames=11, seed=8)).frames
    motion = DisMotion()
    steps = [
        (
            a.image,
            b.image,
            motion.flow(b.image, a.image),
            coarse_segmentation(spec, b.labels, (61, 79), b.index),
        )
        for a, b in pairwise(frames)
    ]
    expected = chain(NUMPY, spec, steps, frames[0].labels, tau=40.0)
    assert_same_labels(
        expected, chain(TorchOps(device), spec, steps, frames[0].labels, tau=40.0), labels=0.999
    )


# --- packaging --------------------------------------------------------------------------------------


def protocol_stubs(backend: type) -> list[str]:
    """The operations of ArrayOps a backend class leaves to the protocol's empty stubs (it subclasses
    the protocol, so isinstance holds whatever it implements)."""
    operations = [name for name, member in vars(ArrayOps).items() if callable(member) and name[0] != "_"]
    assert len(operations) > 10  # the protocol's operations were found
    return [name for name in operations if getattr(backend, name) is getattr(ArrayOps, name)]


@pytest.mark.parametrize("ops", [NUMPY, TorchOps("cpu")], ids=["numpy", "torch"])
def test_each_backend_implements_every_array_operation(ops):
    assert protocol_stubs(type(ops)) == []
    assert ops.name in ("numpy", "torch")


def test_a_backend_missing_an_operation_is_found():
    class Partial(NumpyOps):
        warp = ArrayOps.warp

    assert protocol_stubs(Partial) == ["warp"]


def test_the_numpy_backend_runs_without_importing_torch():
    code = (
        "import sys; from warp_refine_ros.propagation.ops import NumpyOps; NumpyOps(); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
