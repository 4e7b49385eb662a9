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
        return root;
    }

    public static int Run(string[] args, CliConsole console)
    {
        var root = Build(console);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            var command = CommandPath(parse) is { Length: > 0 } path ? $"rulemail {path}" : "rulemail";
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
