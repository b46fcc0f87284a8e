"""Data the pages compute on, all generated or shipped with a package (nothing is downloaded): the
scikit-learn digits with their named scalings and split, the synthetic shapes scenes of the detection
pages, input preprocessing and augmentation, and image restoration (deconvolution) experiments.

What belongs here: making, loading and transforming inputs. It may use :mod:`cvlib.nn`; never a model.
"""

from cvlib.data import digits, synthetic, preprocessing, restoration
from cvlib.data.digits import load_digits, split_digits

__all__ = ["digits", "synthetic", "preprocessing", "restoration", "load_digits", "split_digits"]
