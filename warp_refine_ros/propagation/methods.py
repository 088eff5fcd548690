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

    @classmethod
    def default(cls) -> Method:
        """The method the tools use unless told otherwise.

        warp-inpaint: on held-out synthetic drives the shipped refiner does not beat it yet (see
        models/refiner.md); choose warp-refine with a refiner that earns its place on your data.
        """
        return cls.WARP_INPAINT

    @classmethod
    def parse(cls, value: str | Method) -> Method:
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(m.value for m in cls)
            raise ValueError(f"unknown method {value!r}; choose one of {choices}") from None
