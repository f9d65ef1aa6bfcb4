"""Similar submissions: answer code without the scaffold, copies found through renamed variables, independent work
left alone."""
from __future__ import annotations

from grader.reports.similarity import answer_code, given_code, similar_pairs

from .builders import class_notebooks


def codes_and_given() -> tuple[dict[str, str], str]:
    notebooks = class_notebooks()
    template = notebooks["frank"]  # the untouched notebook is the template itself
    return {key: answer_code(nb, template) for key, nb in notebooks.items()}, given_code(template)


def test_answer_code_is_what_the_student_wrote():
    codes, _ = codes_and_given()
    assert codes["frank"] == ""  # untouched: nothing of its own
    assert "result += kernel[a, b] * image[a:a + height, b:b + width]" in codes["alice"]
    for given in ('check("convolve")', "def convolve(image, kernel):", "kernel = np.asarray(kernel, dtype=float)",
                  "pool_example = np.array([[1, 5, 2, 0, 7],", "print(max_pool(pool_example))"):
        assert given not in codes["alice"], given
    assert {line.strip() for line in codes["erin"].splitlines() if line.strip()} == {"return image[1:-1, 1:-1] * 0"}


def test_a_copy_with_renamed_variables_is_flagged_and_independent_work_is_not():
    codes, given = codes_and_given()
    pairs = similar_pairs(codes, given).shown
    assert [(p.first, p.second) for p in pairs] == [("alice", "bob")]
    copy = pairs[0]
    assert min(copy.shares) > 0.95
    assert "<mark>" in copy.marked[0] and "tiles" in copy.marked[1]  # bob's own names, side by side with alice's
    every = {(a, b): share for cluster in similar_pairs(codes, given, threshold=0.0, min_tokens=0).clusters
             for a, b, share in cluster.pairs}
    assert every[("alice", "carol")] < 0.25  # the figure behind THRESHOLD
    assert ("erin", "frank") not in every and ("alice", "frank") not in every  # empty answers pair with nothing


def test_identical_short_answers_are_not_a_pair():
    """Five quiz lines that everyone who is right writes alike share too few tokens to count."""
    quiz = 'q1_conv_size = (26, 26)\nq2_pool_size = (13, 13)\nq3_values_kept = 1\nq4_convolution = "a"\n'
    assert similar_pairs({"x": quiz, "y": quiz}, "").found == 0
    assert similar_pairs({"x": quiz, "y": quiz}, "", min_tokens=0).found == 1


def test_a_class_of_copies_says_how_many_pairs_beyond_those_shown():
    codes, given = codes_and_given()
    copies = {f"copy{n:02d}": codes["alice"] for n in range(10)}  # 45 pairs of identical answers
    found = similar_pairs(copies, given)
    assert found.found == 45 and len(found.clusters) == len(found.shown) == 1  # one entry, not 45 pairs
    assert found.clusters[0].members == tuple(copies) and len(found.clusters[0].pairs) == 45


def test_students_who_share_code_are_one_cluster_and_others_another():
    codes, given = codes_and_given()
    class_ = {"a1": codes["alice"], "a2": codes["bob"], "a3": codes["alice"], "c1": codes["carol"],
              "c2": codes["carol"], "e": codes["erin"]}
    found = similar_pairs(class_, given)
    assert [c.members for c in found.clusters] == [("a1", "a2", "a3"), ("c1", "c2")]
    assert found.found == 4 and [(p.first, p.second) for p in found.shown] == [("a1", "a2"), ("c1", "c2")]
