namespace VqaPipeline.Inference.Tests;

public sealed class CsvExportTests
{
    [Theory]
    [InlineData("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\"")]
    [InlineData("+1234", "'+1234")]
    [InlineData("-2+3", "'-2+3")]
    [InlineData("@SUM(A1)", "'@SUM(A1)")]
    [InlineData("\tcmd", "'\tcmd")]
    [InlineData("\rcmd", "\"'\rcmd\"")]
    public void A_text_field_a_spreadsheet_would_run_as_a_formula_is_written_as_text(string value, string written) =>
        Assert.Equal(written, CsvExport.Field(value));

    [Theory]
    [InlineData("cat.png", "cat.png")]
    [InlineData("a=b.png", "a=b.png")]
    [InlineData("two, three", "\"two, three\"")]
    [InlineData("", "")]
    public void Other_fields_are_written_as_they_are_quoted_where_RFC_4180_says(string value, string written) =>
        Assert.Equal(written, CsvExport.Field(value));

    [Fact]
    public void An_answers_line_neutralises_each_text_field_and_keeps_numbers()
    {
        var row = new ExportedAnswer(Guid.Empty, "=cmd.png", "-what is it?", 1, "@yes", 0.5, "models/x/1");
        Assert.Equal($"{Guid.Empty},'=cmd.png,'-what is it?,1,'@yes,0.5,models/x/1", CsvExport.Line(row));
    }
}
