"""Every assignment of the course on realistic submissions: typical mistakes get the intended partial score and a
message that names the mistake; right answers written another way (the course notes' own code, 1998's LeNet, a
callback with ``>``) get full marks.  One batch per assignment, graded by the CLI as an instructor runs it; the
fashion notebooks train on 3,000 images for one epoch (their accuracy checks fail for that reason only)."""
from __future__ import annotations

import pytest

from grader.course.assignment import load_assignment

from . import notebooks as nbs
from .conftest import check_result, points_by_task, read_results, run_cli, task

pytestmark = pytest.mark.slow


def graded_batch(name: str, submissions: dict, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp(name)
    for stem, nb in submissions.items():
        nbs.write(nb, folder / "in", stem)
    done = run_cli("batch", str(folder / "in"), "-a", name, "--out", str(folder / "out"), "--sandbox", "bubblewrap",
                   "--workers", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    results = read_results(folder / "out")
    assert sorted(results) == sorted(submissions)
    return results


def messages(result, task_name: str) -> str:
    return "\n".join(c.message for c in task(result, task_name).checks)


# -- convolution and pooling by hand

CONVOLVE_BODY = """    height, width = image.shape[0] - 2, image.shape[1] - 2
    result = np.zeros((height, width))
    for a in range(3):
        for b in range(3):
            result += kernel[a, b] * image[a:a + height, b:b + width]
    return result"""
NOTES_LOOPS = """    size_x, size_y = image.shape
    i_transformed = np.zeros((size_x - 2, size_y - 2))
    for x in range(1, size_x - 1):
        for y in range(1, size_y - 1):
            convolution = 0.0
            convolution = convolution + (image[x - 1, y - 1] * kernel[0][0])
            convolution = convolution + (image[x - 1, y] * kernel[0][1])
            convolution = convolution + (image[x - 1, y + 1] * kernel[0][2])
            convolution = convolution + (image[x, y - 1] * kernel[1][0])
            convolution = convolution + (image[x, y] * kernel[1][1])
            convolution = convolution + (image[x, y + 1] * kernel[1][2])
            convolution = convolution + (image[x + 1, y - 1] * kernel[2][0])
            convolution = convolution + (image[x + 1, y] * kernel[2][1])
            convolution = convolution + (image[x + 1, y + 1] * kernel[2][2])
            i_transformed[x - 1, y - 1] = convolution
    return i_transformed"""
POOL_BODY = """    height, width = image.shape[0] // 2, image.shape[1] // 2
    blocks = image[:2 * height, :2 * width].reshape(height, 2, width, 2)
    return blocks.max(axis=(1, 3))"""


BORROWED_CONVOLVE = """    from grader.checks.references import correlate_valid
    return correlate_valid(image, kernel)"""
BORROWED_POOL = """    from grader.checks.references import max_pool
    return max_pool(image)"""


@pytest.fixture(scope="module")
def by_hand(tmp_path_factory):
    course = load_assignment("by_hand")
    ref = lambda: nbs.reference(course)  # noqa: E731
    return graded_batch("by_hand", {
        "notes_loops": nbs.replace(ref(), CONVOLVE_BODY, NOTES_LOOPS),
        "flipped_filter": nbs.replace(ref(), "result += kernel[a, b]", "result += kernel[2 - a, 2 - b]"),
        "hard_coded": nbs.replace(ref(), CONVOLVE_BODY, "    return np.array([[9, 36, 27, 0], [27, 27, 9, 0],"
                                                        " [36, 18, -9, -9]])"),
        "same_size": nbs.replace(ref(), CONVOLVE_BODY, "    image = np.pad(image, 1)\n" + CONVOLVE_BODY),
        "average_pool": nbs.replace(ref(), "blocks.max(axis=(1, 3))", "blocks.mean(axis=(1, 3))"),
        # the notebook: the functions borrowed from the grader's package, which once held the answers
        "borrowed_reference": nbs.replace(nbs.replace(ref(), CONVOLVE_BODY, BORROWED_CONVOLVE), POOL_BODY,
                                          BORROWED_POOL),
        "forgot_return": nbs.replace(ref(), CONVOLVE_BODY, CONVOLVE_BODY.replace("    return result", "")),
        "template": course.template(),
        "dies_in_task_3": nbs.insert_cell(ref(), "pictures", "import os\nos._exit(1)", where="start"),
        "slow_pool": nbs.replace(ref(), POOL_BODY, """    result = []
    for i in range(0, image.shape[0] - 1, 2):
        row = []
        for j in range(0, image.shape[1] - 1, 2):
            row.append(max(image[i, j], image[i + 1, j], image[i, j + 1], image[i + 1, j + 1]))
        result.append(row)
    return np.array(result)"""),
    }, tmp_path_factory)


def test_right_functions_written_another_way_get_full_marks(by_hand):
    for name in ("notes_loops", "slow_pool"):
        assert by_hand[name].points == by_hand[name].max_points == 15, by_hand[name].feedback_text()
    held_out = check_result(by_hand["notes_loops"], "convolve", "function_matches").message
    assert "right on all 4 held-out cases" in held_out


def test_a_flipped_filter(by_hand):
    result = by_hand["flipped_filter"]
    assert points_by_task(result) == {"convolve": 0, "pool": 3, "pictures": 3, "quiz": 5}
    assert "the filter is flipped (a mathematical convolution" in messages(result, "convolve")
    # one mistake costs once: the filtered and pooled images made with that convolution are not charged again
    for variable in ("filtered", "pooled"):
        made = next(c for c in task(result, "pictures").checks if c.kind == "array_from_reference"
                    and variable in c.title)
        assert not made.passed and made.consequence_of.startswith("convolve on the example"), made


def test_a_function_that_hard_codes_the_public_example(by_hand):
    result = by_hand["hard_coded"]
    assert check_result(result, "convolve", "function_example").passed
    assert points_by_task(result)["convolve"] == 1
    assert "it returns the same result whatever the input" in check_result(result, "convolve", "function_matches").message


def test_padding_to_the_same_size(by_hand):
    result = by_hand["same_size"]
    assert points_by_task(result)["convolve"] == 0
    assert "the image's own size, with zeros around it: the 3 x 3 filter fits 26 x 26 times" in \
        check_result(result, "convolve", "function_matches").message


def test_a_kernel_that_dies_later_keeps_the_finished_functions(by_hand):
    """The kernel dies in task 3: the functions of tasks 1 and 2, finished before, keep their points (tried in a
    fresh kernel that ran the notebook again up to task 2's end), and the student is told why."""
    result = by_hand["dies_in_task_3"]
    assert points_by_task(result) == {"convolve": 4, "pool": 3, "pictures": 0, "quiz": 0}, result.feedback_text()
    assert "convolve was tried in a fresh kernel that ran your code cells again" in task(result, "convolve").feedback
    assert "the kernel stopped in code cell" in task(result, "pictures").ungraded_reason


def test_nothing_of_the_graders_package_answers_the_functions(by_hand):
    """Functions taken from the grader's package, which students install and the sandbox can import: it holds no
    reference (they are the solution's), so they score nothing and say why."""
    result = by_hand["borrowed_reference"]
    # its cells raised: the images were never made, which is no consequence to forgive
    assert points_by_task(result) == {"convolve": 0, "pool": 0, "pictures": 0, "quiz": 5}, result.feedback_text()
    assert "ImportError: cannot import name 'correlate_valid' from 'grader.checks.references'" in \
        messages(result, "convolve")


def test_a_function_that_forgot_return(by_hand):
    result = by_hand["forgot_return"]
    assert points_by_task(result)["convolve"] == 0
    held_out = check_result(result, "convolve", "function_matches").message
    assert held_out == "convolve is a function that returned None and raised nothing: is its return statement missing?"
    said = task(result, "convolve").feedback
    assert "TypeError" not in said and "ndarray" not in said, said


def test_the_untouched_functions_are_not_done_yet(by_hand):
    result = by_hand["template"]
    assert result.points == 0
    for variable, name in (("convolve", "convolve"), ("max_pool", "pool")):
        assert messages(result, name) == "\n".join(
            [f"{variable} is not done yet: its code still holds the placeholder ... (# YOUR CODE HERE)"] * 2)


def test_average_pooling(by_hand):
    result = by_hand["average_pool"]
    assert points_by_task(result) == {"convolve": 4, "pool": 0, "pictures": 3, "quiz": 5}  # pooled: not again
    assert "each block is averaged: max pooling keeps the largest" in messages(result, "pool")


# -- MNIST: a callback and one convolution

COURSE_CALLBACK = '''class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs={}):
        if(logs.get('accuracy')>0.995):
            print("\\nReached 99.5% accuracy so cancelling training!")
            self.model.stop_training = True


callbacks = myCallback()'''


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    course = load_assignment("mnist_callback")
    ref = lambda: nbs.reference(course)  # noqa: E731
    return graded_batch("mnist_callback", {
        "course_callback": nbs.set_answer(ref(), "callback", COURSE_CALLBACK),
        "stops_too_early": nbs.replace(ref(), '>= 0.995', '>= 0.99'),
        "reads_acc": nbs.replace(ref(), 'logs.get("accuracy") >= 0.995', 'logs.get("acc", 0) >= 0.995'),
        "sixty_four_filters": nbs.replace(ref(), "Conv2D(32, (3, 3)", "Conv2D(64, (3, 3)"),
    }, tmp_path_factory)


def test_the_course_own_callback_with_a_strict_comparison_gets_full_marks(mnist):
    result = mnist["course_callback"]
    assert result.points == result.max_points == 18, result.feedback_text()
    assert "training stopped after epoch" in check_result(result, "model", "training_stopped").message
    assert "of the MNIST subset" in check_result(result, "model", "model_accuracy", "test").message \
        or "10,000 test digits" in check_result(result, "model", "model_accuracy", "test").message


def test_a_callback_that_stops_too_early(mnist):
    result = mnist["stops_too_early"]
    assert not check_result(result, "callback", "callback_stops").passed
    assert "it stops training at accuracy 0.99, before it reaches 0.995" in \
        check_result(result, "callback", "callback_stops").message
    assert check_result(result, "callback", "callback_form").passed
    assert not check_result(result, "model", "training_stopped").passed


def test_a_callback_that_never_stops(mnist):
    result = mnist["reads_acc"]
    assert points_by_task(result)["callback"] == 1
    assert "your callback reads logs['acc']; the task's metric is 'accuracy'" in \
        check_result(result, "callback", "callback_stops").message
    went_on = check_result(result, "model", "training_stopped")
    assert "but training went on to epoch 10: the callback did not stop it" in went_on.message
    assert went_on.consequence_of.startswith("it stops training at 99.5%") and went_on.points == went_on.max_points, \
        went_on


def test_the_wrong_number_of_filters(mnist):
    result = mnist["sixty_four_filters"]
    assert check_result(result, "model", "model_layers").message == "layer 1: expected Conv2D with 32 filters, found 64"
    assert "1,386,506 parameters in total, expected 693,962" in check_result(result, "model", "model_shapes").message
    assert points_by_task(result)["callback"] == 4


# -- LeNet-5


@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    course = load_assignment("lenet5")
    ref = lambda: nbs.reference(course)  # noqa: E731
    return graded_batch("lenet5", {
        "lenet_1998": nbs.replace(nbs.replace(ref(), 'activation="relu"', 'activation="tanh"', count=4),
                                  "MaxPooling2D(2, 2)", "AveragePooling2D(2, 2)", count=2),
        "not_centred": nbs.replace(nbs.replace(ref(), "np.pad(train_images, ((0, 0), (2, 2), (2, 2)))",
                                               "np.pad(train_images, ((0, 0), (0, 4), (0, 4)))"),
                                   "np.pad(test_images, ((0, 0), (2, 2), (2, 2)))",
                                   "np.pad(test_images, ((0, 0), (0, 4), (0, 4)))"),
        "no_channel_axis": nbs.replace(nbs.replace(ref(), "train_images[..., np.newaxis] / 255.0",
                                                   "train_images / 255.0"),
                                       "test_images[..., np.newaxis] / 255.0", "test_images / 255.0"),
        "missing_dense": nbs.replace(ref(), '    tf.keras.layers.Dense(120, activation="relu"),\n', ""),
    }, tmp_path_factory)


def test_the_1998_network_with_tanh_and_average_pooling_gets_full_marks(lenet):
    result = lenet["lenet_1998"]
    assert result.points == result.max_points == 17, result.feedback_text()


def test_digits_padded_on_one_side(lenet):
    result = lenet["not_centred"]
    assert points_by_task(result)["data"] == 3
    assert "not centred (0 rows of zeros above, 4 below, 0 columns on the left, 4 on the right): pad 2 on every" \
           " side" in messages(result, "data")


def test_no_channel_axis(lenet):
    result = lenet["no_channel_axis"]
    assert "expected (N, 32, 32, 1) (reshape it)" in messages(result, "data")
    assert points_by_task(result)["data"] == 3  # the values and the centring are right
    assert points_by_task(result)["lenet"] == 9  # Keras adds the missing axis when it trains: the model is right


def test_a_missing_dense_layer(lenet):
    result = lenet["missing_dense"]
    assert check_result(result, "lenet", "model_layers").message == \
        "missing layer: expected Dense after layer 5 (Flatten) (layer 6 of 8)"
    assert points_by_task(result)["data"] == 5


# -- Fashion-MNIST: the notes' own code, the variant, the look inside

NOTES_DATA = """fashion_mnist = tf.keras.datasets.fashion_mnist
(training_images, training_labels), (test_images, test_labels) = fashion_mnist.load_data()
#Here is where we reshape
training_images=training_images.reshape(60000, 28, 28, 1)
#Here we normalize
training_images=training_images / 255.0
test_images = test_images.reshape(10000, 28, 28, 1)
test_images=test_images/255.0"""
NOTES_DENSE = """dense_model = tf.keras.models.Sequential([
  tf.keras.layers.Flatten(),
  tf.keras.layers.Dense(128, activation=tf.nn.relu),
  tf.keras.layers.Dense(10, activation=tf.nn.softmax)
])
dense_model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])"""
NOTES_CNN = """cnn_model = tf.keras.models.Sequential([
  tf.keras.layers.Conv2D(64, (3,3), activation='relu', input_shape=(28, 28, 1)),
  tf.keras.layers.MaxPooling2D(2, 2),
  tf.keras.layers.Conv2D(64, (3,3), activation='relu'),
  tf.keras.layers.MaxPooling2D(2,2),
  tf.keras.layers.Flatten(),
  tf.keras.layers.Dense(128, activation='relu'),
  tf.keras.layers.Dense(10, activation='softmax')
])
cnn_model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
cnn_model.summary()"""
# The notes write cnn_model.input, which Keras 3 refuses for a Sequential model built with input_shape= (the task's
# text says so and shows cnn_model.inputs): the rest is the notes' code as it stands.
NOTES_INSIDE = """import matplotlib.pyplot as plt
layer_outputs = [layer.output for layer in cnn_model.layers]
activation_model = tf.keras.models.Model(inputs = cnn_model.inputs, outputs = layer_outputs)
same_class = [0, 23, 28]
f, axarr = plt.subplots(3,4)
FIRST_IMAGE=0
SECOND_IMAGE=23
THIRD_IMAGE=28
CONVOLUTION_NUMBER = 1
for x in range(0,4):
  f1 = activation_model.predict(test_images[FIRST_IMAGE].reshape(1, 28, 28, 1))[x]
  axarr[0,x].imshow(f1[0, : , :, CONVOLUTION_NUMBER], cmap='inferno')
  axarr[0,x].grid(False)
  f2 = activation_model.predict(test_images[SECOND_IMAGE].reshape(1, 28, 28, 1))[x]
  axarr[1,x].imshow(f2[0, : , :, CONVOLUTION_NUMBER], cmap='inferno')
  axarr[1,x].grid(False)
  f3 = activation_model.predict(test_images[THIRD_IMAGE].reshape(1, 28, 28, 1))[x]
  axarr[2,x].imshow(f3[0, : , :, CONVOLUTION_NUMBER], cmap='inferno')
  axarr[2,x].grid(False)"""
STUDENT_QUIZ = '''q1_convolution = "b) A technique to isolate features in images"
q2_pooling = "A"
q3_training_speed = "(b)"
q4_conv_output = "30x46"
q5_pool_output = [15, 23]
q6_conv_params = "1,792"
q7_channel = "b. the number of colour channels"'''
UNTRAINED_COPY = "clone = tf.keras.models.clone_model(cnn_model)\nlayer_outputs = [layer.output for layer in clone.layers]\n" \
                 "activation_model = tf.keras.models.Model(inputs=clone.inputs, outputs=layer_outputs)"


@pytest.fixture(scope="module")
def fashion(tmp_path_factory):
    course = load_assignment("fashion_cnn")
    q = lambda: nbs.quick(nbs.reference(course))  # noqa: E731
    notes = q()
    for name, source in (("data", NOTES_DATA), ("dense", NOTES_DENSE), ("cnn", NOTES_CNN), ("inside", NOTES_INSIDE),
                         ("quiz", STUDENT_QUIZ)):
        nbs.set_answer(notes, name, source)
    return graded_batch("fashion_cnn", {
        "notes_style": notes,
        "untrained_copy": nbs.replace(q(), "layer_outputs = [layer.output for layer in cnn_model.layers]\n"
                                      "activation_model = tf.keras.models.Model(inputs=cnn_model.inputs,"
                                      " outputs=layer_outputs)", UNTRAINED_COPY),
        "last_layer_only": nbs.replace(q(), "outputs=layer_outputs)", "outputs=layer_outputs[-1])"),
        "variant_64_first": nbs.replace(q(), 'Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1))',
                                        'Conv2D(64, (3, 3), activation="relu", input_shape=(28, 28, 1))'),
        "mixed_classes": nbs.replace(q(), "same_class = [0, 23, 28]", "same_class = [0, 1, 2]"),
    }, tmp_path_factory)


def test_the_course_notes_own_code_gets_every_structure_point(fashion, quick_reference_graded):
    result = fashion["notes_style"]
    failed = [(t.name, c.title) for t in result.tasks for c in t.checks if not c.passed]
    assert all("accuracy" in title for _, title in failed), failed  # only the quick training's accuracy misses
    assert task(result, "quiz").points == task(result, "quiz").max_points
    assert task(result, "inside").points == task(result, "inside").max_points


def test_an_activation_model_of_an_untrained_copy(fashion):
    result = fashion["untrained_copy"]
    assert check_result(result, "inside", "activation_outputs").passed
    values = check_result(result, "inside", "activation_values")
    assert not values.passed and "build activation_model from the trained model's own layers" in values.message


def test_an_activation_model_with_one_output(fashion):
    message = check_result(fashion["last_layer_only"], "inside", "activation_outputs").message
    assert "activation_model has 1 output, expected one for each of the 7 layers of the trained model" in message


def test_the_variant_with_64_filters_first(fashion):
    result = fashion["variant_64_first"]
    assert check_result(result, "variant", "model_layers").message == \
        "layer 1: expected Conv2D with 32 filters, found 64"
    assert "243,786 parameters in total, expected 225,034" in check_result(result, "variant", "model_shapes").message


def test_images_of_different_classes(fashion):
    message = check_result(fashion["mixed_classes"], "inside", "images_of_one_class").message
    assert message.startswith("the images are of different classes (image 0 is class 9")
