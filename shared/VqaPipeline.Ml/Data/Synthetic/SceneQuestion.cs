namespace VqaPipeline.Ml.Data.Synthetic;

/// <summary>
/// The kinds of question a scene is asked; each is written with its own VQA <c>question_type</c>s. The first four are
/// asked by default (<see cref="SyntheticOptions.DefaultFamilies"/>); <see cref="Position"/> only when named.
/// </summary>
public enum QuestionFamily
{
    /// <summary>"Is there a red circle?" (yes/no).</summary>
    Existence,

    /// <summary>"How many squares are there?" (a number 0 to 6).</summary>
    Counting,

    /// <summary>"What color is the triangle?", "What shape is the blue object?", "What size is the red circle?".</summary>
    Attribute,

    /// <summary>"Is the red circle left of the green square?" (yes/no).</summary>
    Spatial,

    /// <summary>
    /// "Where is the red circle?" (top left, top, top right, left, middle, right, bottom left, bottom, bottom right:
    /// the third of the image its centre is in). Not asked by default: a training aid, since reading one object's place
    /// is the step a model must learn before it can compare two.
    /// </summary>
    Position,
}

/// <summary>A question about one scene with its true answer and the wrong answers a careless annotator might give.</summary>
internal sealed record SceneQuestion(QuestionFamily Family, string QuestionType, string Text, string Answer,
    IReadOnlyList<string> Alternatives)
{
    public const string YesNo = "yes/no";

    public string AnswerType => Family switch
    {
        QuestionFamily.Existence or QuestionFamily.Spatial => YesNo,
        QuestionFamily.Counting => "number",
        _ => "other",
    };
}
