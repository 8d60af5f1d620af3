using System.CommandLine;
using Npgsql;
using VqaPipeline.Gateway.Auth;

namespace VqaPipeline.Cli.Commands;

/// <summary>
/// <c>vqa admin</c>: the operator's tool for teams and API keys (like <c>rabbitmqctl</c>). It works on the gateway's
/// schema directly with <c>VQA_POSTGRES</c> (the gateway's role, or a login that may write its schema), needs no API
/// key and spans teams. A key's text is printed once, when it is created; lists show its prefix only.
/// </summary>
internal static class AdminCommand
{
    public static Command Create(CliConsole console)
    {
        var admin = new Command("admin", "Teams and API keys, straight on the gateway's database (setting: VQA_POSTGRES).\n\n" +
                                         "Examples:\n  vqa admin team create catalog --json\n" +
                                         "  vqa admin key create --team catalog --role member --expires 2027-06-30 --json\n" +
                                         "  vqa admin key list --team catalog\n  vqa admin key revoke k3x9m2pq");
        var team = new Command("team", "Teams: the owners of keys, collections, jobs, training runs and models");
        team.Subcommands.Add(CreateTeam(console));
        var key = new Command("key", "API keys: create (printed once), list (prefixes only), revoke");
        key.Subcommands.Add(CreateKey(console));
        key.Subcommands.Add(ListKeys(console));
        key.Subcommands.Add(RevokeKey(console));
        admin.Subcommands.Add(team);
        admin.Subcommands.Add(key);
        return admin;
    }

    private static Command CreateTeam(CliConsole console)
    {
        var name = new Argument<string>("NAME") { Description = "The team's name: letters, digits, '.', '_' or '-'" };
        var ifAbsent = new Option<bool>("--if-absent") { Description = "When the team exists, print its id instead of failing" };
        var adoptExisting = new Option<bool>("--adopt-existing")
        {
            Description = "The team owns the data stored before teams (its id is 00000000-0000-0000-0000-000000000000; one team at most)",
        };
        var json = CommonOptions.Json();
        var command = new Command("create", "Create a team and print its id\n\nExample:\n  vqa admin team create catalog --json")
        {
            name, ifAbsent, adoptExisting, json,
        };
        SetAction(console, command, async (administration, parse, cancellationToken) =>
        {
            var id = await administration.CreateTeamAsync(parse.GetValue(name)!, parse.GetValue(ifAbsent),
                parse.GetValue(adoptExisting), cancellationToken);
            if (parse.GetValue(json))
                console.WriteJson(new { team = id });
            else
                console.Out.WriteLine($"team {parse.GetValue(name)}: {id}");
        });
        return command;
    }

    private static Command CreateKey(CliConsole console)
    {
        var team = new Option<string>("--team") { Description = "The team the key belongs to", Required = true };
        var role = new Option<string>("--role")
        {
            Description = $"What the key may do: {string.Join(", ", KeyAdministration.RoleNames)} (each includes the ones before)",
            Required = true,
        };
        var expires = new Option<string?>("--expires") { Description = "When the key stops working: a date (UTC) or an ISO 8601 time (default: never)" };
        var json = CommonOptions.Json();
        var command = new Command("create",
            "Create an API key and print it (the only time it is shown)\n\nExample:\n  vqa admin key create --team catalog --role viewer --json")
        {
            team, role, expires, json,
        };
        SetAction(console, command, async (administration, parse, cancellationToken) =>
        {
            var expiresAt = parse.GetValue(expires) is { } text ? KeyAdministration.ParseExpiry(text) : (DateTimeOffset?)null;
            if (expiresAt <= DateTimeOffset.UtcNow)
                throw new CliUsageException($"--expires {parse.GetValue(expires)} is in the past");
            var created = await administration.CreateKeyAsync(parse.GetValue(team)!, parse.GetValue(role)!, expiresAt, cancellationToken);
            if (parse.GetValue(json))
                console.WriteJson(new { key = created.Key, team = created.Team, role = created.Role, prefix = created.Prefix, expiresAt = created.ExpiresAt });
            else
            {
                console.Out.WriteLine(created.Key);
                console.Log($"key {created.Prefix} of team {created.Team}, role {created.Role}" +
                            (created.ExpiresAt is { } at ? $", expires {at:u}" : "") + ": store it now, it is not shown again");
            }
        });
        return command;
    }

    private static Command ListKeys(CliConsole console)
    {
        var team = new Option<string?>("--team") { Description = "Only this team's keys" };
        var json = CommonOptions.Json();
        var command = new Command("list", "List keys by prefix (never the key itself)\n\nExample:\n  vqa admin key list --team catalog --json")
        {
            team, json,
        };
        SetAction(console, command, async (administration, parse, cancellationToken) =>
        {
            var keys = await administration.ListKeysAsync(parse.GetValue(team), cancellationToken);
            if (parse.GetValue(json))
            {
                console.WriteJson(keys);
                return;
            }
            console.Out.WriteLine($"{"PREFIX",-9} {"TEAM",-20} {"ROLE",-8} {"CREATED",-20} {"EXPIRES",-20} {"LAST USED",-20} STATE");
            foreach (var key in keys)
                console.Out.WriteLine($"{key.Prefix,-9} {key.Team,-20} {key.Role,-8} {Time(key.CreatedAt),-20} {Time(key.ExpiresAt),-20} " +
                                      $"{Time(key.LastUsedAt),-20} {State(key)}");
        });
        return command;
    }

    private static Command RevokeKey(CliConsole console)
    {
        var prefix = new Argument<string>("PREFIX") { Description = "The key's prefix (see vqa admin key list)" };
        var json = CommonOptions.Json();
        var command = new Command("revoke", "Revoke a key: requests with it get 401 from now on\n\nExample:\n  vqa admin key revoke k3x9m2pq")
        {
            prefix, json,
        };
        SetAction(console, command, async (administration, parse, cancellationToken) =>
        {
            var revoked = await administration.RevokeAsync(parse.GetValue(prefix)!, cancellationToken);
            if (parse.GetValue(json))
                console.WriteJson(revoked);
            else
                console.Out.WriteLine($"key {revoked.Prefix} of team {revoked.Team} revoked at {revoked.RevokedAt:u}");
        });
        return command;
    }

    private static string Time(DateTimeOffset? time) => time is { } value ? value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'") : "-";

    private static string State(ApiKeySummary key) =>
        key.RevokedAt is not null ? "revoked" : key.ExpiresAt <= DateTimeOffset.UtcNow ? "expired" : "active";

    /// <summary>Runs <paramref name="body"/> on the gateway's schema; database and key errors become one line.</summary>
    private static void SetAction(CliConsole console, Command command,
        Func<KeyAdministration, ParseResult, CancellationToken, Task> body) =>
        console.SetAction(command, async (parse, cancellationToken) =>
        {
            var connectionString = Environment.GetEnvironmentVariable("VQA_POSTGRES") is { Length: > 0 } value
                ? value
                : throw new CliUsageException("VQA_POSTGRES is not set: a login that may write the gateway's schema (eval \"$(infra/local/up.sh --infra-only)\")");
            try
            {
                await body(new KeyAdministration(connectionString), parse, cancellationToken);
                return 0;
            }
            catch (KeyAdministrationException error)
            {
                throw new CliUsageException(error.Message);
            }
            catch (PostgresException error) when (error.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName)
            {
                throw new CliUsageException("the gateway's schema has no tables yet: start the gateway once (it migrates its schema), then try again");
            }
            catch (Exception error) when (error is NpgsqlException or ArgumentException)
            {
                throw new CliUsageException($"cannot use the gateway's database (VQA_POSTGRES): {error.Message}");
            }
        });
}
