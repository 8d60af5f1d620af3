using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using VqaPipeline.Gateway.Auth;
using VqaPipeline.StackTesting;

namespace VqaPipeline.Gateway.Tests;

/// <summary><c>vqa admin</c> as the operator runs it: the built executable, on the gateway's database, then keys used at the gateway.</summary>
public sealed class AdminCommandTests : IAsyncLifetime
{
    private ServiceStack? _stack;

    private ServiceStack Stack => _stack!;

    public async Task InitializeAsync() =>
        _stack = await ServiceStack.StartAsync(new StackOptions { Purpose = "admin-cli", InProcess = [] });

    public async Task DisposeAsync()
    {
        if (_stack is not null)
            await _stack.DisposeAsync();
    }

    [StackFact]
    public async Task Teams_and_keys_made_with_vqa_admin_work_at_the_gateway_list_by_prefix_and_stop_when_revoked()
    {
        var team = $"catalog-{Guid.NewGuid():N}"[..20];

        var createdTeam = await VqaAsync("admin", "team", "create", team, "--json");
        var again = await VqaAsync("admin", "team", "create", team, "--if-absent", "--json");
        var createdKey = await VqaAsync("admin", "key", "create", "--team", team, "--role", "trainer", "--expires", "2099-01-31", "--json");

        var teamId = Json(createdTeam).GetProperty("team").GetString();
        Assert.Equal(teamId, Json(again).GetProperty("team").GetString());
        var key = Json(createdKey);
        Assert.Equal(team, key.GetProperty("team").GetString());
        Assert.Equal("trainer", key.GetProperty("role").GetString());
        using var client = new HttpClient { BaseAddress = Stack.Api.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key.GetProperty("key").GetString());
        var me = await client.GetFromJsonAsync<JsonElement>(GatewayAuth.MePath);
        Assert.Equal(teamId, me.GetProperty("teamId").GetString());
        Assert.Equal("trainer", me.GetProperty("role").GetString());
        var prefix = me.GetProperty("keyPrefix").GetString()!;

        var listed = await VqaAsync("admin", "key", "list", "--team", team, "--json");
        var table = await VqaAsync("admin", "key", "list");
        var listedKey = Json(listed).EnumerateArray().Single();
        Assert.Equal(prefix, listedKey.GetProperty("prefix").GetString());
        Assert.Equal("2099-01-31T00:00:00+00:00", listedKey.GetProperty("expiresAt").GetString());
        Assert.Matches($"{prefix} +{team} +trainer .* active", table.Stdout);
        foreach (var listing in new[] { listed.Stdout, table.Stdout })
            Assert.DoesNotContain(key.GetProperty("key").GetString()!, listing);

        var revoked = await VqaAsync("admin", "key", "revoke", prefix);
        Assert.Contains($"key {prefix} of team {team} revoked", revoked.Stdout);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync(GatewayAuth.MePath)).StatusCode);
        Assert.Matches($"{prefix} .* revoked", (await VqaAsync("admin", "key", "list", "--team", team)).Stdout);
    }

    [StackFact]
    public async Task Vqa_admin_with_bad_input_says_why_in_one_line_and_exits_1()
    {
        await VqaAsync("admin", "team", "create", "taken", "--if-absent");

        var cases = new (string[] Args, string Says, bool WithDatabase)[]
        {
            (["admin", "team", "create", "taken"], "team 'taken' already exists", true),
            (["admin", "team", "create", "no spaces"], "is not 1 to 100 letters", true),
            (["admin", "key", "create", "--team", "nobody", "--role", "viewer"], "no team named 'nobody'", true),
            (["admin", "key", "create", "--team", "taken", "--role", "owner"], "role 'owner' is not one of: viewer, member, trainer, admin", true),
            (["admin", "key", "create", "--team", "taken", "--role", "viewer", "--expires", "next week"], "is not a date", true),
            (["admin", "key", "create", "--team", "taken", "--role", "viewer", "--expires", "2001-01-01"], "is in the past", true),
            (["admin", "key", "revoke", "zzzzzzzz"], "no key with prefix 'zzzzzzzz'", true),
            (["admin", "key", "list", "--team", "nobody"], "no team named 'nobody'", true),
            (["admin", "key", "list"], "VQA_POSTGRES is not set", false),
        };
        foreach (var (args, says, withDatabase) in cases)
        {
            var run = await VqaAsync(withDatabase, args);
            Assert.True(run.ExitCode == 1, $"{string.Join(' ', args)}: exit {run.ExitCode}, {run.Stderr}");
            var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("error: ", line);
            Assert.Contains(says, line);
        }
    }

    private static JsonElement Json(CliRun run)
    {
        Assert.True(run.ExitCode == 0, run.Stderr);
        return JsonDocument.Parse(run.Stdout).RootElement;
    }

    private Task<CliRun> VqaAsync(params string[] args) => VqaAsync(true, args);

    /// <summary>Runs the built <c>vqa</c> with <c>VQA_POSTGRES</c> set to the gateway's login of this stack (or unset).</summary>
    private async Task<CliRun> VqaAsync(bool withDatabase, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "vqa.dll"));
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        if (withDatabase)
            start.Environment["VQA_POSTGRES"] = Stack.Database.ConnectionStringFor(GatewayService.Name);
        else
            start.Environment.Remove("VQA_POSTGRES");
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return new CliRun(process.ExitCode, await stdout, await stderr);
    }

    private sealed record CliRun(int ExitCode, string Stdout, string Stderr);
}
