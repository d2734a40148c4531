namespace Uring.Bindings.Tests.Infrastructure;

/// <summary>The checked-in model of the default generation, and gcc's facts about it.</summary>
public static class TestModel
{
    private static readonly Lazy<ApiModel> s_model = new(() =>
    {
        var path = RepoLayout.ModelPath;
        if (!File.Exists(path))
            throw new FileNotFoundException($"The generated model {path} is missing: run the generator first.", path);
        return ApiModel.Load(path);
    });

    public static ApiModel Current => s_model.Value;

    public static GccFacts Gcc => PinnedBindings.Default.Gcc;
}
