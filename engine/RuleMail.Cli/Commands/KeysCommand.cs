using System.CommandLine;
using System.Globalization;
using RuleMail.Cli.Output;
using RuleMail.Json;
using RuleMail.Keys;

namespace RuleMail.Cli.Commands;

/// <summary><c>rulemail keys import | list | remove</c>.</summary>
internal static class KeysCommand
{
    /// <summary>The seed's warning, printed after every import (the API answers with the same words).</summary>
    public const string VerifyWarning = KeyImportDocument.VerifyWarning + " Compare each fingerprint above with its owner before you rely on it.";

    public static Command Create(CommonOptions common, CliConsole console)
    {
        var keys = new Command("keys", "Manage the key store: S/MIME certificates and keys, OpenPGP keys, CRLs");
        keys.Subcommands.Add(Import(common, console));
        keys.Subcommands.Add(List(common, console));
        keys.Subcommands.Add(Remove(common, console));
        return keys;
    }

    private static Command Import(CommonOptions common, CliConsole console)
    {
        var files = new Argument<string[]>("FILE")
        {
            Arity = ArgumentArity.OneOrMore,
            Description = "PEM/DER certificates, PEM private keys, PKCS#12, CRLs, armored or binary OpenPGP keys",
        };
        var passphraseEnv = new Option<string?>("--passphrase-env")
        {
            Description = "Name of the environment variable holding the passphrase of encrypted input files",
        };
        var domainAlias = new Option<string?>("--domain-alias")
        {
            Description = "Let the OpenPGP keys imported serve every address of this domain",
        };
        var command = new Command("import", "Import certificates, private keys, PKCS#12, CRLs and OpenPGP keys (all or nothing)")
        {
            files, passphraseEnv, domainAlias,
        };
        command.SetAction(parse =>
        {
            string? passphrase = null;
            if (parse.GetValue(passphraseEnv) is { } variable)
            {
                passphrase = console.GetEnvironmentVariable(variable);
                if (string.IsNullOrEmpty(passphrase))
                {
                    throw new RuleMailException($"--passphrase-env {variable}: the environment variable {variable} is not set or empty");
                }
            }

            var config = common.Resolve(parse, console);
            var store = KeyStore.OpenOrCreate(config.Keystore, CommonOptions.KeyStoreOptions(config, console));
            var inputs = parse.GetValue(files)!.Select(f => ImportFile.Read(Path.GetFullPath(f, console.WorkingDirectory))).ToList();
            var imported = store.Import(inputs, passphrase, parse.GetValue(domainAlias));

            var now = console.Time.GetUtcNow();
            foreach (var item in imported)
            {
                var entry = item.Entry;
                console.Output.WriteLine($"{KeyImportEntry.ChangeName(item.Change),-9} {KeyListEntry.KindName(entry.Kind),-5} {KeyReferences.Who(entry)}");
                var fingerprintKind = entry.Kind == KeyKind.Pgp ? "OpenPGP fingerprint" : "SHA-256 fingerprint";
                var until = entry.NotAfter is { } end ? end.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : "no expiry";
                console.Output.WriteLine($"          {fingerprintKind}: {Grouped(entry.Fingerprint)}");
                console.Output.WriteLine($"          {KeyListEntry.StatusName(entry.StatusAt(now)).Replace('_', ' ')} ({entry.NotBefore.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)} to {until})" +
                                         (item.Note is null ? string.Empty : $"; {item.Note}"));
            }

            console.Output.WriteLine();
            console.Output.WriteLine(VerifyWarning);
            return ExitCodes.Done;
        });
        return command;
    }

    private static Command List(CommonOptions common, CliConsole console)
    {
        var json = new Option<bool>("--json") { Description = "One JSON object on stdout" };
        var command = new Command("list", "List every entry: kind, addresses, fingerprint, validity, usages, status, private key") { json };
        command.SetAction(parse =>
        {
            var config = common.Resolve(parse, console);
            var store = KeyStore.Open(config.Keystore, new KeyStoreOptions { Time = console.Time });
            var now = console.Time.GetUtcNow();
            if (parse.GetValue(json))
            {
                console.Output.WriteLine(ContractJson.Serialize(KeyListDocument.From(store, now), indented: true));
                return ExitCodes.Done;
            }

            if (store.Entries.Count == 0)
            {
                console.Output.WriteLine($"The key store {store.Directory} is empty. Add keys with: rulemail keys import FILE...");
                return ExitCodes.Done;
            }

            var table = Tables.Create("KIND", "ADDRESSES / NAME", "STATUS", "USAGES", "PRIVATE KEY", "VALID FROM", "VALID UNTIL", "FINGERPRINT");
            foreach (var entry in store.Entries)
            {
                var kind = entry is SmimeCertificateEntry { IsTrustAnchor: true } ? "smime CA" : KeyListEntry.KindName(entry.Kind);
                var who = KeyReferences.Who(entry);
                if (entry is PgpKeyEntry { DomainAlias: { } alias })
                {
                    who += $" (+ *@{alias})";
                }

                Tables.AddRow(
                    table,
                    kind,
                    who,
                    KeyListEntry.StatusName(entry.StatusAt(now)).Replace('_', ' '),
                    string.Join(", ", KeyListEntry.UsageNames(entry.Usages)),
                    entry.HasPrivateKey ? "yes" : "no",
                    entry.NotBefore.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                    entry.NotAfter?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "never",
                    entry.Fingerprint);
            }

            Tables.ConsoleFor(console.Output).Write(table);
            return ExitCodes.Done;
        });
        return command;
    }

    private static Command Remove(CommonOptions common, CliConsole console)
    {
        var fingerprint = new Argument<string>("KEY")
        {
            Description = "The entry: its fingerprint as keys list shows it, a unique prefix of 16+ digits, an OpenPGP long key ID (0x...), or the one entry's address",
        };
        var yes = new Option<bool>("--yes") { Description = "Remove it even when it holds a private key (RuleMail then can no longer sign as it or decrypt mail sent to it)" };
        var command = new Command("remove", "Remove one entry (and its private key, with --yes)") { fingerprint, yes };
        command.SetAction(parse =>
        {
            var config = common.Resolve(parse, console);
            var store = KeyStore.Open(config.Keystore, new KeyStoreOptions { Time = console.Time });
            var reference = parse.GetValue(fingerprint)!;
            var matches = KeyReferences.Find(store.Entries, reference)
                ?? throw new UsageException($"{reference}: name an entry by its fingerprint (16 to 64 hex digits: the whole one, a unique prefix, or an OpenPGP long key ID) or its address");
            var entry = matches.Count switch
            {
                0 => throw new KeyStoreException($"no key store entry matches {reference} (rulemail keys list shows them)"),
                1 => matches[0],
                _ => throw new KeyStoreException($"{reference} names {matches.Count} entries: " +
                                                 string.Join("; ", matches.Select(m => $"{Label(m)} {m.Fingerprint}")) + "; give the fingerprint of one"),
            };
            if (entry.HasPrivateKey && !parse.GetValue(yes))
            {
                throw new UsageException($"{Label(entry)} {entry.Fingerprint} holds a private key: without it RuleMail can no longer sign as " +
                                         $"{KeyReferences.Who(entry)} or decrypt mail sent to it. Keep a copy, then repeat with --yes");
            }

            var removed = store.Remove(entry.Fingerprint);
            console.Output.WriteLine($"removed   {KeyListEntry.KindName(removed.Kind),-5} {KeyReferences.Who(removed)}  {removed.Fingerprint}" +
                                     (removed.HasPrivateKey ? " (and its private key)" : string.Empty));
            return ExitCodes.Done;
        });
        return command;
    }

    /// <summary>An entry's kind in a sentence: "S/MIME", "PGP" or "CRL".</summary>
    private static string Label(KeyEntry entry) => KeyListEntry.KindName(entry.Kind) switch
    {
        "smime" => "S/MIME",
        "pgp" => "PGP",
        var other => other.ToUpperInvariant(),
    };

    /// <summary>Groups of four digits, as people read fingerprints aloud over the phone.</summary>
    private static string Grouped(string fingerprint) =>
        string.Join(' ', Enumerable.Range(0, (fingerprint.Length + 3) / 4).Select(i => fingerprint.Substring(i * 4, Math.Min(4, fingerprint.Length - (i * 4)))));
}
