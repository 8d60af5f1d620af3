namespace VqaPipeline.Ml.Checkpoints.Hub;

/// <summary>
/// Models shipped with VqaPipeline (<c>shared/models/{name}</c> in the repository), copied next to every program that
/// references the engine, so that a fresh machine answers questions with nothing to download. A bundled model is
/// named by its bare name (no <c>/</c>), which no Hub id and no model in object storage can be.
/// </summary>
public static class BundledModels
{
    /// <summary>The model used when none is named: a small ViLT trained on synthetic shape scenes.</summary>
    public const string Default = "vilt-shapes";

    /// <summary>Where the bundled models are, next to the running program.</summary>
    public static string Root => Path.Combine(AppContext.BaseDirectory, "models");

    /// <summary>The bundled model's folder, or <c>null</c> when <paramref name="name"/> is not a bundled model's name.</summary>
    public static string? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0 || name.IndexOfAny(['/', '\\']) >= 0 || name is "." or "..")
            return null;
        var folder = Path.Combine(Root, name);
        return File.Exists(Path.Combine(folder, ModelResolver.ConfigFile)) ? folder : null;
    }
}
