using System.CommandLine;
using RuleMail.Keys;

namespace RuleMail.Cli.Commands;

/// <summary>
/// <c>rulemail run [--once]</c>: the scheduled host. Until the Quartz host lands it checks the
/// configuration and key store it would run on, reports them and says that there is nothing to fetch.
/// </summary>
internal static class RunCommand
{
    public static Command Create(CommonOptions common, CliConsole console)
    {
        var once = new Option<bool>("--once") { Description = "Fetch and send each account once, then exit" };
        var command = new Command("run", "Run the scheduled host: fetch, decrypt/verify, apply rules, send") { once };
        command.SetAction(parse =>
        {
            var config = common.Resolve(parse, console);
            var store = KeyStore.Open(config.Keystore, CommonOptions.KeyStoreOptions(config, console));
            var now = console.Time.GetUtcNow();
            var valid = store.Entries.Count(e => e.StatusAt(now) == KeyStatus.Valid);
            var withKeys = store.Entries.Count(e => e.HasPrivateKey);

            console.Output.WriteLine($"Configuration: {config.Path ?? "(built-in defaults)"}");
            console.Output.WriteLine($"Key store:     {store.Directory} ({store.Entries.Count} entries, {valid} valid, {withKeys} with private keys)");
            console.Output.WriteLine($"Accounts:      {config.Accounts.Count}");
            console.Output.WriteLine();
            console.Output.WriteLine("Nothing to do yet: fetching, rules and sending arrive with the scheduled host.");
            console.Output.WriteLine("Manage keys meanwhile with: rulemail keys list | import | remove");
            return ExitCodes.Done;
        });
        return command;
    }
}
