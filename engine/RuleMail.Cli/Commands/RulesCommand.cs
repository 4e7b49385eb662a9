using System.CommandLine;
using RuleMail.Host.Configuration;
using RuleMail.Rules;

namespace RuleMail.Cli.Commands;

/// <summary><c>rulemail rules lint [DIR]</c>: every problem of a rules folder as <c>file:line:col: message</c>.</summary>
internal static class RulesCommand
{
    public static Command Create(CommonOptions common, CliConsole console)
    {
        var folder = new Argument<string?>("DIR") { Description = "The rules folder (default: the config's rules)", Arity = ArgumentArity.ZeroOrOne };
        var lint = new Command("lint", "Check rule files: unknown keys, fields, operators, wrong types, bad patterns, script errors") { folder };
        lint.SetAction(parse =>
        {
            var config = common.Resolve(parse, console);
            var directory = parse.GetValue(folder) is { } given ? Path.GetFullPath(given, console.WorkingDirectory) : config.Rules;
            var set = RuleSet.Load(directory, Limits(config));
            foreach (var error in set.Errors)
            {
                console.Error.WriteLine(error.ToString());
            }

            if (set.Errors.Count > 0)
            {
                console.Error.WriteLine($"rulemail: {set.Errors.Count} problem(s) in {directory}");
                return ExitCodes.BadInput;
            }

            console.Output.WriteLine($"{directory}: {set.RuleCount} rule(s) in {set.FileCount} file(s), no problems");
            return ExitCodes.Done;
        });
        var rules = new Command("rules", "Work with rules");
        rules.Subcommands.Add(lint);
        return rules;
    }

    /// <summary>The rules of the configuration; none when the folder does not exist.</summary>
    public static RuleSet Load(RuleMailConfig config) => config.LoadRules();

    private static JavaScriptLimits Limits(RuleMailConfig config) => config.Javascript.Limits;
}
