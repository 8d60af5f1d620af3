using System.Text;

namespace VqaPipeline.Hosting.Tests;

public sealed class TextLimitsTests
{
    [Fact]
    public void A_question_is_measured_in_utf8_bytes_after_normalization()
    {
        // 200 × "dont" is 999 characters as asked and 1,199 once each becomes "don't".
        var contractions = string.Join(' ', Enumerable.Repeat("dont", 200));
        Assert.Equal(999, contractions.Length);
        Assert.Contains("1199 bytes once normalized", TextLimits.QuestionProblem(contractions));

        // 333 three-byte characters fit (999 bytes); 334 do not (1,002), though both are far below 1,000 characters.
        Assert.Null(TextLimits.QuestionProblem(new string('犬', 333)));
        Assert.Contains("1002 bytes once normalized", TextLimits.QuestionProblem(new string('犬', 334)));
        Assert.Null(TextLimits.QuestionProblem(new string('a', 1000)));
        Assert.Contains("1001 characters", TextLimits.QuestionProblem(new string('a', 1001)));
    }

    [Fact]
    public void Model_names_leave_room_for_what_their_version_adds()
    {
        var longest = "/" + new string('m', TextLimits.MaxModelBytes - 1);
        Assert.Null(TextLimits.ModelProblem(longest));
        Assert.Contains("401 bytes (UTF-8), more than 400", TextLimits.ModelProblem(longest + "m"));
        // A folder's version adds "#sha256:" and 16 hex digits, and still fits the index's column.
        Assert.Null(TextLimits.ModelVersionProblem(longest + "#sha256:0123456789abcdef"));
        Assert.Contains("more than 500", TextLimits.ModelVersionProblem(new string('é', 251)));
        Assert.Equal(502, Encoding.UTF8.GetByteCount(new string('é', 251)));
    }
}
