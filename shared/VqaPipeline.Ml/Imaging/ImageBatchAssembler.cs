namespace VqaPipeline.Ml.Imaging;

/// <summary>Resizes and normalizes each image into its slot of one batch tensor, images in parallel.</summary>
internal static class ImageBatchAssembler
{
    // With pad, images are zero-padded bottom/right to the largest height and width and a pixel mask is returned;
    // without it every image must come out the same size.
    public static ImageBatch Assemble(
        IReadOnlyList<RgbImage> images, Func<RgbImage, ImageSize> targetSize, PixelNormalizer normalizer, bool pad,
        string processorName)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0)
            throw new ArgumentException("At least one image is needed.", nameof(images));

        var sizes = images.Select(targetSize).ToArray();
        var height = sizes.Max(size => size.Height);
        var width = sizes.Max(size => size.Width);
        if (!pad && sizes.Any(size => size != sizes[0]))
            throw new VqaPipelineException(
                $"{processorName}: images come out in different sizes ({string.Join(", ", sizes.Distinct())}) " +
                "and the config does not pad them; resize them to one size or enable padding.");

        var slotLength = 3 * height * width;
        var pixelValues = new float[(long)images.Count * slotLength];
        void Fill(int index)
        {
            var image = images[index];
            var size = sizes[index];
            var resized = size.Height == image.Height && size.Width == image.Width
                ? image
                : PillowResampler.ResizeBicubic(image, size.Width, size.Height);
            normalizer.WriteChannelsFirst(resized, pixelValues.AsSpan(index * slotLength, slotLength), height, width);
        }

        // One image asked many questions appears many times in a batch: process it once and copy its slot.
        var firstOccurrence = new Dictionary<RgbImage, int>(ReferenceEqualityComparer.Instance);
        var sourceSlot = new int[images.Count];
        for (var index = 0; index < images.Count; index++)
            sourceSlot[index] = firstOccurrence.TryAdd(images[index], index) ? index : firstOccurrence[images[index]];
        var unique = firstOccurrence.Values.ToArray();

        if (unique.Length == 1)
            Fill(unique[0]);
        else
            Parallel.ForEach(unique, Fill);
        for (var index = 0; index < images.Count; index++)
            if (sourceSlot[index] != index)
                pixelValues.AsSpan(sourceSlot[index] * slotLength, slotLength).CopyTo(pixelValues.AsSpan(index * slotLength, slotLength));

        return new ImageBatch(pixelValues, pad ? PixelMask(sizes, height, width) : null, images.Count, height, width, sizes);
    }

    private static long[] PixelMask(ImageSize[] sizes, int height, int width)
    {
        var mask = new long[(long)sizes.Length * height * width];
        for (var index = 0; index < sizes.Length; index++)
        {
            for (var y = 0; y < sizes[index].Height; y++)
                mask.AsSpan((index * height + y) * width, sizes[index].Width).Fill(1);
        }
        return mask;
    }
}
