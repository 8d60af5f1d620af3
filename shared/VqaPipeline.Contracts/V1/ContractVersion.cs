namespace VqaPipeline.Contracts.V1;

/// <summary>
/// The schema version every message in <c>VqaPipeline.Contracts.V1</c> carries. A change a consumer of the old shape
/// could not read goes into a new namespace (<c>V2</c>) instead of changing these records.
/// </summary>
public static class ContractVersion
{
    /// <summary>The version of the messages in this namespace.</summary>
    public const int Current = 1;
}
