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
            var options = CommonOptions.KeyStoreOptions(config, console);
            var store = KeyStore.Open(config.Keystore, options);
            var now = console.Time.GetUtcNow();
            var valid = store.Entries.Count(e => e.StatusAt(now) == KeyStatus.Valid);

            console.Output.WriteLine($"Configuration: {config.Path ?? "(built-in defaults)"}");
            console.Output.WriteLine($"Key store:     {store.Directory} ({store.Entries.Count} entries, {valid} valid)");
            console.Output.WriteLine($"Private keys:  {PrivateKeys(store, options)}");
            var rules = RulesCommand.Load(config);
            console.Output.WriteLine($"Rules:         {config.Rules} ({rules.RuleCount} rules in {rules.FileCount} files, {(rules.Errors.Count == 0 ? "no problems" : $"{rules.Errors.Count} problems: see rulemail rules lint")})");
            console.Output.WriteLine($"Accounts:      {config.Accounts.Count}");
            console.Output.WriteLine();
            console.Output.WriteLine("Nothing to fetch or send yet: the scheduled host (mailboxes, outbox, Quartz) arrives with issue 6.");
            console.Output.WriteLine("Meanwhile: rulemail keys list | check FILE.eml | options --from A --to B | compose ... | rules lint");
            return ExitCodes.Done;
        });
        return command;
    }

    /// <summary>Opens every private key once, so a wrong passphrase shows at start, not on the first message.</summary>
    private static string PrivateKeys(KeyStore store, KeyStoreOptions options)
    {
        var certificates = store.Certificates.Where(c => c.HasPrivateKey).ToList();
        var pgpKeys = store.PgpKeys.Where(k => k.HasPrivateKey).ToList();
        var count = certificates.Count + pgpKeys.Count;
        if (count == 0)
        {
            return "none";
        }

        if (options.Passphrase is null)
        {
            return $"{count} held, locked (set {KeyStorePassphrase.EnvironmentVariable} to use them)";
        }

        foreach (var certificate in certificates)
        {
            _ = store.OpenPrivateKey(certificate);
        }

        foreach (var key in pgpKeys)
        {
            foreach (var subkey in key.Keys.Where(k => k.HasSecretKey))
            {
                _ = store.OpenPrivateKey(key, long.Parse(subkey.KeyId, System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return $"{count} held, all unlocked";
    }
}
