using System.CommandLine;
using System.Globalization;
using RuleMail.Cli.Output;
using RuleMail.Host.Cluster;
using RuleMail.Host.State;
using RuleMail.Json;

namespace RuleMail.Cli.Commands;

/// <summary>
/// <c>rulemail cluster status [--json]</c>: the nodes sharing the PostgreSQL state, the leases they hold and the work
/// queue (waiting, being worked on, the oldest waiting message's age). Read from the database, so it works from any
/// machine with the configuration and the connection variable, whether a node runs there or not.
/// </summary>
internal static class ClusterCommand
{
    public static Command Create(CommonOptions common, CliConsole console)
    {
        var command = new Command("cluster", "The cluster of hosts sharing a PostgreSQL state");
        var json = new Option<bool>("--json") { Description = "One JSON object on stdout" };
        var status = new Command("status", "Nodes, leases, queue depth and the oldest waiting message") { json };
        status.SetAction(async (parse, cancellationToken) =>
        {
            var config = common.Resolve(parse, console);
            if (!config.State.IsPostgres)
            {
                console.Error.WriteLine($"rulemail: the state is the SQLite file {config.State.Path}, for one host; a cluster needs state: {{postgres: {{connection_env: VARIABLE}}}} in {config.Path ?? "rulemail.yaml"}");
                return ExitCodes.BadInput;
            }

            // Read only: a status never migrates the shared schema under running nodes (the first node to start does).
            await using var cluster = new PostgresCluster(
                StateStores.ConnectionString(config, console.GetEnvironmentVariable), ClusterNode.Start(console.GetEnvironmentVariable), config.Cluster.Lease);
            ClusterStatusDocument document;
            try
            {
                document = await cluster.StatusAsync(null, cancellationToken);
            }
            catch (Npgsql.PostgresException e) when (e.SqlState == Npgsql.PostgresErrorCodes.UndefinedTable)
            {
                console.Error.WriteLine($"rulemail: {config.State}: no node has started on this database yet (the first one creates the cluster's tables)");
                return ExitCodes.BadInput;
            }
            catch (Npgsql.NpgsqlException e)
            {
                console.Error.WriteLine($"rulemail: {config.State}: cannot read the cluster's state: {e.Message.Split('\n')[0].Trim()}");
                return ExitCodes.BadInput;
            }

            if (parse.GetValue(json))
            {
                console.Output.WriteLine(ContractJson.Serialize(document, indented: true));
                return ExitCodes.Done;
            }

            Write(console, document);
            return ExitCodes.Done;
        });

        command.Subcommands.Add(status);
        return command;
    }

    private static void Write(CliConsole console, ClusterStatusDocument status)
    {
        var alive = status.Nodes.Count(n => n.State == "alive");
        console.Output.WriteLine($"Nodes:   {alive} alive of {status.Nodes.Count} seen in the last day");
        if (status.Nodes.Count > 0)
        {
            var nodes = Tables.Create("Node", "State", "Host", "PID", "Working on", "Last seen", "Started");
            foreach (var node in status.Nodes)
            {
                Tables.AddRow(nodes, node.Node, node.State, node.Host, node.Pid.ToString(CultureInfo.InvariantCulture),
                    node.Claimed.ToString(CultureInfo.InvariantCulture), Ago(status.At, node.LastSeen), $"{node.StartedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z");
            }

            Tables.ConsoleFor(console.Output).Write(nodes);
        }

        console.Output.WriteLine($"Leases:  {status.Leases.Count} held");
        if (status.Leases.Count > 0)
        {
            var leases = Tables.Create("Lease", "Held by", "Expires in", "Fence");
            foreach (var lease in status.Leases)
            {
                Tables.AddRow(leases, lease.Name, lease.Owner, Seconds(lease.ExpiresAt - status.At), lease.Fence.ToString(CultureInfo.InvariantCulture));
            }

            Tables.ConsoleFor(console.Output).Write(leases);
        }

        var oldest = status.Queue.OldestWaiting is { } at ? $"; the oldest waits for {Seconds(status.At - at)}" : string.Empty;
        console.Output.WriteLine($"Queue:   {status.Queue.Waiting} waiting, {status.Queue.Claimed} being worked on{oldest}");
        if (status.Queue.Waiting + status.Queue.Claimed > 0)
        {
            var kinds = Tables.Create("Work", "Waiting", "Being worked on", "Oldest waits");
            foreach (var kind in status.Queue.Kinds)
            {
                Tables.AddRow(kinds, kind.Kind == "send" ? "send (outbox)" : kind.Kind, kind.Waiting.ToString(CultureInfo.InvariantCulture),
                    kind.Claimed.ToString(CultureInfo.InvariantCulture), kind.OldestWaiting is { } since ? Seconds(status.At - since) : "-");
            }

            Tables.ConsoleFor(console.Output).Write(kinds);
        }
    }

    private static string Ago(DateTimeOffset now, DateTimeOffset then) => $"{Seconds(now - then)} ago";

    private static string Seconds(TimeSpan span) =>
        span.TotalSeconds < 120
            ? string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, span.TotalSeconds):0} s")
            : span.TotalMinutes < 120
                ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalMinutes:0} min")
                : string.Create(CultureInfo.InvariantCulture, $"{span.TotalHours:0.#} h");
}
