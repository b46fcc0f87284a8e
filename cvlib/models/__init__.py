"""The architectures of the notes, one module per paper family, and the registry that names them.

A family's classes live in their module (``cvlib.models.resnet.Bottleneck``); the registry maps names
to builders (``build("resnet50")``), so names of different families never collide. Importing this
package imports every family module, so :data:`MODELS` lists every registered builder.
"""

from cvlib.models import alexnet, densenet, googlenet, lenet, mobilenet_v1, mobilenet_v2, nin, resnet, vgg
from cvlib.models.registry import MODELS, ModelInfo, build, info, matching, register_model

__all__ = ["alexnet", "densenet", "googlenet", "lenet", "mobilenet_v1", "mobilenet_v2", "nin", "resnet", "vgg",
           "MODELS", "ModelInfo", "build", "info", "matching", "register_model"]
