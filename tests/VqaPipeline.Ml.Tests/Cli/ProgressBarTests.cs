using VqaPipeline.Cli;

namespace VqaPipeline.Ml.Tests.Cli;

public sealed class ProgressBarTests
{
    /// <summary>A <see cref="StringWriter"/> that says it is an interactive terminal.</summary>
    private sealed class FakeTerminal : StringWriter, ITerminalWriter;

    private sealed class FakeClock
    {
        public TimeSpan Now { get; set; }
    }

    [Fact]
    public void A_bar_with_a_total_shows_the_count_the_share_the_rate_and_the_time_left()
    {
        var clock = new FakeClock();
        var bar = new ProgressBar(new FakeTerminal(), "eval", "questions", total: 200, live: true, () => clock.Now);

        bar.Report(0);
        clock.Now = TimeSpan.FromSeconds(10);
        bar.Report(50);

        Assert.Equal("eval: [######..................] 50/200 questions 25% 5/s ETA 0:30", bar.Line(clock.Now));
    }

    [Fact]
    public void A_bar_without_a_total_shows_the_count_and_the_rate_and_a_byte_bar_shows_megabytes()
    {
        var clock = new FakeClock();
        var count = new ProgressBar(new FakeTerminal(), "import", "objects", total: null, live: true, () => clock.Now);
        var bytes = new ProgressBar(new FakeTerminal(), "download model.safetensors", ProgressBar.Bytes, total: 8 << 20, live: true, () => clock.Now);

        count.Report(0);
        bytes.Report(0);
        clock.Now = TimeSpan.FromSeconds(4);
        count.Report(10);
        bytes.Report(2 << 20);

        Assert.Equal("import: 10 objects 2.5/s", count.Line(clock.Now));
        Assert.Equal("download model.safetensors: [######..................] 2.0/8.0 MB 25% 0.5 MB/s ETA 0:12", bytes.Line(clock.Now));
    }

    [Fact]
    public void The_rate_counts_from_the_first_report_so_work_done_before_following_is_not_speed()
    {
        var clock = new FakeClock();
        var bar = new ProgressBar(new FakeTerminal(), "job", "images", total: 1000, live: true, () => clock.Now);

        bar.Report(900);
        clock.Now = TimeSpan.FromSeconds(20);
        bar.Report(950);

        Assert.EndsWith("2.5/s ETA 0:20", bar.Line(clock.Now));
    }

    [Fact]
    public void On_a_terminal_the_bar_is_rewritten_in_place_then_cleared_for_the_summary_line()
    {
        var terminal = new FakeTerminal();
        var clock = new FakeClock();
        var bar = new ProgressBar(terminal, "eval", "questions", total: 200, live: ProgressBar.IsTerminal(terminal), () => clock.Now);

        bar.Report(0);
        clock.Now = TimeSpan.FromSeconds(20.6);
        bar.Report(100);
        clock.Now = TimeSpan.FromSeconds(41.2);
        bar.Report(200);
        bar.Finish();

        var written = terminal.ToString();
        Assert.True(bar.Live);
        Assert.Equal(3, written.Split('\r').Count(part => part.StartsWith("eval: [")));
        Assert.EndsWith("\reval: 200 questions in 41.2 s (4.9/s)" + Environment.NewLine, written);
        Assert.Single(written.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Redraws_come_at_most_every_tenth_of_a_second_except_the_last()
    {
        var terminal = new FakeTerminal();
        var clock = new FakeClock();
        var bar = new ProgressBar(terminal, "data synth", "images", total: 1000, live: true, () => clock.Now);

        for (var i = 1; i <= 1000; i++)
        {
            clock.Now = TimeSpan.FromMilliseconds(i);
            bar.Report(i);
        }

        Assert.Equal(11, terminal.ToString().Split('\r').Count(part => part.StartsWith("data synth: [")));
        Assert.Contains("1000/1000 images 100%", terminal.ToString());
    }

    [Fact]
    public void Redirected_or_quiet_writes_no_bar_only_the_summary_line()
    {
        var redirected = new StringWriter();
        var clock = new FakeClock();
        var bar = new ProgressBar(redirected, "replay", "messages", total: 3, live: ProgressBar.IsTerminal(redirected), () => clock.Now);

        for (var i = 1; i <= 3; i++)
        {
            clock.Now = TimeSpan.FromSeconds(i);
            bar.Report(i);
        }
        bar.WriteLine("a log line");
        bar.Finish("done");

        Assert.False(bar.Live);
        Assert.Equal("a log line" + Environment.NewLine + "replay: 3 messages in 3.0 s (1/s): done" + Environment.NewLine, redirected.ToString());
    }

    [Fact]
    public void A_log_line_goes_above_the_bar_which_is_drawn_again_below_it()
    {
        var terminal = new FakeTerminal();
        var clock = new FakeClock();
        var bar = new ProgressBar(terminal, "finetune", "steps", total: 10, live: true, () => clock.Now);

        bar.Report(1);
        bar.WriteLine("saved checkpoint out/step-1");

        var lines = terminal.ToString().Split(Environment.NewLine);
        Assert.Equal(2, lines.Length);
        Assert.EndsWith("saved checkpoint out/step-1", lines[0]);
        Assert.StartsWith("\rfinetune: [##", lines[1]);
    }

    [Fact]
    public async Task Vqa_with_quiet_and_redirected_stderr_draws_no_bar_but_says_how_long_it_took()
    {
        var output = Directory.CreateTempSubdirectory("vqa-progress-");
        try
        {
            using StringWriter stdout = new(), stderr = new();
            var exitCode = await VqaCommandLine.RunAsync(
                ["data", "synth", "--out", Path.Combine(output.FullName, "scenes"), "--images", "3", "--seed", "5", "--quiet"], stdout, stderr);

            Assert.Equal(0, exitCode);
            Assert.DoesNotContain('\r', stderr.ToString());
            // A rate only when the work took long enough to measure one (a fast machine writes 3 scenes in under 50 ms).
            Assert.Matches(@"^data synth: 3 images in \d+\.\d s( \(\d+(\.\d)?/s\))?\r?\n$", stderr.ToString());
            Assert.StartsWith("wrote 3 images", stdout.ToString());
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }
}
