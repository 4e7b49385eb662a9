using System.CommandLine;
using RuleMail.Cli.Commands;

namespace RuleMail.Cli;

/// <summary>
/// The <c>rulemail</c> command line: parses, runs one command, and turns every failure into one line on
/// stderr and a documented exit code (see <see cref="ExitCodes"/>) — never a stack trace.
/// </summary>
internal static class RuleMailCli
{
    public static RootCommand Build(CliConsole console)
    {
        var common = new CommonOptions();
        var root = new RootCommand("RuleMail: decrypt, verify, sign and encrypt mail by rules, with S/MIME and OpenPGP");
        common.AddTo(root);
        root.Subcommands.Add(KeysCommand.Create(common, console));
        root.Subcommands.Add(OptionsCommand.Create(common, console));
        root.Subcommands.Add(CheckCommand.Create(common, console));
        root.Subcommands.Add(ComposeCommand.Create(common, console));
        root.Subcommands.Add(RulesCommand.Create(common, console));
        root.Subcommands.Add(RunCommand.Create(common, console));
        root.Subcommands.Add(RetryCommand.Create(common, console));
        root.Subcommands.Add(ServeCommand.Create(common, console));
        root.Subcommands.Add(TokensCommand.Create(common, console));
        root.Subcommands.Add(ClusterCommand.Create(common, console));
        return root;
    }

    public static int Run(string[] args, CliConsole console)
    {
        var root = Build(console);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            var path = CommandPath(parse);
            var command = path.Length > 0 ? $"rulemail {path}" : "rulemail";
            if (UnknownCommand(parse) is { } unknown)
            {
                if (unknown == "help")
                {
                    // "rulemail help", "rulemail keys help": what people type when --help does not come to mind.
                    return root.Parse([.. path.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--help"])
                        .Invoke(new InvocationConfiguration { Output = console.Output, Error = console.Error });
                }

                console.Error.WriteLine($"rulemail: {Unknown(parse.CommandResult.Command, command, unknown)} (see '{command} --help')");
                return ExitCodes.Usage;
            }

            console.Error.WriteLine($"rulemail: {parse.Errors[0].Message} (see '{command} --help')");
            return ExitCodes.Usage;
        }

        try
        {
            return parse.Invoke(new InvocationConfiguration
            {
                Output = console.Output,
                Error = console.Error,
                EnableDefaultExceptionHandler = false,

                // The scheduled host handles SIGINT/SIGTERM itself (running jobs finish their message); the
                // default would kill the process two seconds after the signal.
                ProcessTerminationTimeout = null,
            });
        }
        catch (UsageException e)
        {
            console.Error.WriteLine($"rulemail: {e.Message}");
            return ExitCodes.Usage;
        }
        catch (RuleMailException e)
        {
            console.Error.WriteLine($"rulemail: {e.Message}");
            return ExitCodes.BadInput;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            console.Error.WriteLine($"rulemail: {e.Message}");
            return ExitCodes.BadInput;
        }
#pragma warning disable CA1031 // The last line of defence: a bug must still give one line, not a stack trace.
        catch (Exception e)
#pragma warning restore CA1031
        {
            console.Error.WriteLine($"rulemail: internal error ({e.GetType().Name}): {e.Message.Split('\n')[0]}");
            return ExitCodes.InternalError;
        }
    }

    /// <summary>
    /// The word given where a subcommand belongs (<c>rulemail chek</c>, <c>rulemail keys lst</c>), when it names none;
    /// null when the parse failed for another reason.
    /// </summary>
    private static string? UnknownCommand(ParseResult parse) =>
        parse.CommandResult.Command.Subcommands.Count > 0
        && parse.CommandResult.Command.Action is null
        && parse.UnmatchedTokens.Count > 0
        && !parse.UnmatchedTokens[0].StartsWith('-')
            ? parse.UnmatchedTokens[0]
            : null;

    /// <summary>"'chek' is not a rulemail command; did you mean 'check'?" with the commands there are.</summary>
    private static string Unknown(Command parent, string command, string word)
    {
        var names = parent.Subcommands.Where(c => !c.Hidden).Select(c => c.Name).ToList();
        var near = names
            .Select(n => (Name: n, Distance: Distance(word.ToLowerInvariant(), n)))
            .Where(c => c.Distance <= Math.Max(1, c.Name.Length / 3) || c.Name.StartsWith(word, StringComparison.OrdinalIgnoreCase))
            .OrderBy(c => c.Distance).Select(c => c.Name).FirstOrDefault();
        var hint = near is null ? "." : $"; did you mean '{command} {near}'?";
        return $"'{word}' is not a {command} command{hint} Commands: {string.Join(", ", names)}.";
    }

    /// <summary>Edit distance with adjacent transpositions (optimal string alignment): "chek" is 1 from "check", "lsit" 1 from "list".</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }

    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            if (result.Parent is not null)
            {
                names.Insert(0, result.Command.Name);
            }
        }

        return string.Join(' ', names);
    }
}
