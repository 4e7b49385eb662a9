using RuleMail.Cli.Tests.Support;
using RuleMail.Core.Tests.Support;

namespace RuleMail.Cli.Tests.Commands;

/// <summary>
/// Review finding: <c>compose --out</c> names each Bcc copy after its recipient with every character outside
/// [letters digits . - _ @] turned into '_', so two different Bcc recipients can get the same file and one copy
/// silently replaces the other (File.Move overwrite), while the output lists both.
/// </summary>
public sealed class ComposeBccTests : IDisposable
{
    private readonly TempDirectory _work = new("cli-compose-review");
    private readonly string _root = CliRun.RepositoryRoot();

    public void Dispose() => _work.Dispose();

    [Fact]
    public void Two_Bcc_recipients_never_share_one_copy_file()
    {
        var result = CliRun.Run(_root, null, "compose", "--from", "support@rulemail.test", "--to", "alice@customer.test",
            "--bcc", "jo+sales@hidden.test", "--bcc", "jo_sales@hidden.test",
            "--subject", "s", "--body", "Hello", "--no-sign", "--no-encrypt", "--out", _work.File("out.eml"));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(3, Directory.GetFiles(Path.GetDirectoryName(_work.File("out.eml"))!, "out*.eml").Length);
    }
}
