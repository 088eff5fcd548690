"""The four labeling methods and which engines each needs."""

from __future__ import annotations

from enum import Enum


class Method(str, Enum):
    """A propagation step Psi: how frame k's labels follow from frame k-1's (section 3, 4.2)."""

    MOTION_ONLY = "motion-only"  # warp only (Zhu et al.)
    SEMANTIC_ONLY = "semantic-only"  # g alone, pixels under 0.9 confidence ignored (Tao et al.)
    WARP_INPAINT = "warp-inpaint"  # Psi^W: warp, trust mask, inpaint with g (eq. 3-5)
    WARP_REFINE = "warp-refine"  # Psi^R: warp-inpaint then the refiner Omega (eq. 8)

    def __str__(self) -> str:
        return self.value

    @property
    def needs_motion(self) -> bool:
        return self is not Method.SEMANTIC_ONLY

    @property
    def needs_segmentation(self) -> bool:
        return self is not Method.MOTION_ONLY

    @property
    def needs_refiner(self) -> bool:
        return self is Method.WARP_REFINE

    @property
    def roles(self) -> tuple[str, ...]:
        """The engine roles this method runs: the engines a run must load, and nothing more."""
        needed = (("motion", self.needs_motion), ("segmentation", self.needs_segmentation))
        return tuple(role for role, needs in (*needed, ("refiner", self.needs_refiner)) if needs)

    @classmethod
    def default(cls) -> Method:
        """The method without adaptation: warp-inpaint.

        It won on the tuning drive families and held up on the held-out ones, where the shipped Omega,
        trained on the renderer's own look, fell behind it (README, "Adapting to your camera");
        ``adapt_labeler`` picks warp-refine where a refiner trained on the camera's keyframes earns it.
        """
        return cls.WARP_INPAINT

    @classmethod
    def parse(cls, value: str | Method) -> Method:
        try:
            return cls(value)
        except ValueError as err:
            choices = ", ".join(m.value for m in cls)
            raise ValueError(f"unknown method {value!r}; choose one of {choices}") from err
