"""Which modules a kernel may import before the notebook's first cell: only what the notebook imports, never where
the notebook touches the environment or the import machinery first."""
from __future__ import annotations

import nbformat
import pytest

from grader.inside.warm_imports import imported_packages, notebook_warm_imports, warm_imports


@pytest.mark.parametrize("source, packages", [
    ("import tensorflow as tf", {"tensorflow"}),
    ("from tensorflow import keras", {"tensorflow"}),
    ("from tensorflow.keras.layers import Conv2D, MaxPool2D", {"tensorflow"}),
    ("import numpy as np, keras  # the course's style", {"numpy", "keras"}),
    ("try:\n    import keras\nexcept ImportError:\n    pass", {"keras"}),
    ("%matplotlib inline\nimport matplotlib.pyplot as plt", {"matplotlib"}),
    ("x = 'import tensorflow'", set()),
    ("print('from here on')", set()),
])
def test_the_imports_of_a_cell(source, packages):
    assert imported_packages(source) == packages


@pytest.mark.parametrize("cells, expected", [
    (["import numpy as np", "import tensorflow as tf\nmodel = tf.keras.Sequential()"], ["tensorflow"]),
    (["from keras import layers, models"], ["tensorflow"]),
    (["import numpy as np", "def convolve(image, kernel):\n    return image"], []),
    ([], []),
])
def test_tensorflow_only_where_the_notebook_imports_it(cells, expected):
    assert warm_imports(cells) == expected


@pytest.mark.parametrize("first", [
    "import os\nos.environ['TF_ENABLE_ONEDNN_OPTS'] = '0'",
    "import os\nos.environ.setdefault('KERAS_BACKEND', 'tensorflow')",
    "from os import environ\nenviron['CUDA_VISIBLE_DEVICES'] = ''",
    "%env TF_CPP_MIN_LOG_LEVEL=3",
    "%set_env TF_ENABLE_ONEDNN_OPTS=0",
    "import os\nos.putenv('X', '1')",
    "from dotenv import load_dotenv\nload_dotenv()",
    "import sys\nprint('tensorflow' in sys.modules)",
    "import importlib\ntf = importlib.import_module('tensorflow')",
    "tf = __import__('tensorflow')",
])
def test_nothing_ahead_where_the_notebook_touches_the_environment_or_imports(first):
    """A variable set before TensorFlow's import must be seen by it (oneDNN changes numerics, KERAS_BACKEND the
    backend), as in Jupyter; and a notebook that looks at the imported modules sees what Jupyter would show."""
    assert warm_imports([first, "import tensorflow as tf"]) == []


def test_read_from_a_notebook_code_cells_only():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("Set `os.environ` first, then import."),
                                         nbformat.v4.new_code_cell("import tensorflow as tf")])
    assert notebook_warm_imports(nb) == ["tensorflow"]
    nb.cells.append(nbformat.v4.new_code_cell("import os\nos.environ['TF_ENABLE_ONEDNN_OPTS'] = '0'"))
    assert notebook_warm_imports(nb) == []
