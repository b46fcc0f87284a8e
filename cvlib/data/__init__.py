"""Data the pages compute on, all generated or shipped with a package (nothing is downloaded): the
synthetic shapes scenes of the detection pages, input preprocessing and augmentation, and image
restoration (deconvolution) experiments.

What belongs here: making, loading and transforming inputs. It may use :mod:`cvlib.nn`; never a model.
"""

from cvlib.data import synthetic, preprocessing, restoration

__all__ = ["synthetic", "preprocessing", "restoration"]
