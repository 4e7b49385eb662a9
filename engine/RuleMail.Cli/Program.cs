namespace RuleMail.Cli;

internal static class Program
{
    public static int Main(string[] args) => RuleMailCli.Run(args, CliConsole.System);
}
