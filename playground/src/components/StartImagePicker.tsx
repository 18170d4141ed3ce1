// Image-to-image and inpainting: the mode, the start image (a file, or an image of the
// history fetched again), the strength, and for inpainting the mask painter (its own
// chunk, loaded when first needed).
import { Suspense, lazy, useEffect, useMemo, useRef, useState } from "react";
import type { GenerationMode } from "../gql/graphql";
import { DEFAULT_STRENGTH, MODE_NAMES, imageSize } from "../lib/generateForm";
import type { StartImage } from "../lib/generateForm";
import type { Model } from "../lib/models";

const MaskPainter = lazy(() => import("./MaskPainter"));

export function StartImagePicker({
  model,
  mode,
  image,
  strength,
  errors,
  onMode,
  onImage,
  onStrength,
  onMask,
}: {
  model: Model | null;
  mode: GenerationMode;
  image: StartImage | null;
  strength: string;
  errors: Record<string, string>;
  onMode: (mode: GenerationMode) => void;
  onImage: (image: StartImage | null) => void;
  onStrength: (value: string) => void;
  onMask: (mask: File | null) => void;
}) {
  const modes = model?.modes ?? (["TEXT_TO_IMAGE"] as GenerationMode[]);
  const input = useRef<HTMLInputElement>(null);
  const [readError, setReadError] = useState("");
  const preview = useMemo(() => (image && mode === "IMAGE_TO_IMAGE" ? URL.createObjectURL(image.file) : ""), [image, mode]);
  useEffect(() => () => (preview ? URL.revokeObjectURL(preview) : undefined), [preview]);
  // A file input cannot be set, only cleared: when the form drops or replaces its file, so does it.
  useEffect(() => {
    if (input.current && image?.file !== input.current.files?.[0]) input.current.value = "";
  }, [image]);

  const choose = async (file: File | undefined) => {
    setReadError("");
    if (!file) return onImage(null);
    try {
      onImage({ file, from: file.name, ...(await imageSize(file)) });
    } catch {
      setReadError("This file is not an image the browser can read: choose a PNG, JPEG or WebP.");
      onImage(null);
    }
  };

  const imageError = errors.initImage || readError;
  const value = strength.trim() ? strength : String(DEFAULT_STRENGTH[mode]);
  return (
    <>
      <fieldset className="modes">
        <legend>Mode</legend>
        {modes.map((m) => (
          <label key={m} htmlFor={`mode-${m}`}>
            <input id={`mode-${m}`} type="radio" name="mode" value={m} checked={mode === m} onChange={() => onMode(m)} />
            {MODE_NAMES[m]}
          </label>
        ))}
      </fieldset>
      {mode !== "TEXT_TO_IMAGE" ? (
        <div className="start-image" id="start-image">
          <div className="field">
            <label htmlFor="init-image">Start image</label>
            <input id="init-image" ref={input} type="file" name="initImage" accept="image/png,image/jpeg,image/webp"
              onChange={(e) => void choose(e.target.files?.[0])}
              aria-invalid={imageError ? true : undefined} aria-describedby={imageError ? "init-image-error" : "init-image-hint"} />
            {imageError ? (
              <small id="init-image-error" className="field-error">{imageError}</small>
            ) : (
              <small id="init-image-hint" data-testid="start-image-note">
                {image
                  ? `Starting from ${image.from} (${image.width} × ${image.height}).`
                  : "A PNG, JPEG or WebP, or “Use as start” on an image you made."}{" "}
                Sent with the job and deleted when it ends; never kept.
              </small>
            )}
          </div>
          {preview ? <img className="start-preview" src={preview} alt="The start image" width={image?.width} height={image?.height} /> : null}
          <div className="field">
            <label htmlFor="strength">Strength</label>
            <div className="slider">
              <input id="strength" type="range" name="strength" min={0} max={1} step={0.05} value={value}
                onChange={(e) => onStrength(e.target.value)}
                aria-invalid={errors.strength ? true : undefined} aria-describedby={errors.strength ? "strength-error" : "strength-hint"} />
              <output htmlFor="strength" data-testid="strength-value">{Number(value).toFixed(2)}</output>
            </div>
            {errors.strength ? (
              <small id="strength-error" className="field-error">{errors.strength}</small>
            ) : (
              <small id="strength-hint">0 keeps the image, 1 ignores it{mode === "INPAINT" ? " where the mask is painted" : ""}.</small>
            )}
          </div>
          {mode === "INPAINT" ? (
            <fieldset className="mask">
              <legend>Mask: paint what to repaint</legend>
              {image ? (
                <Suspense fallback={<p aria-busy="true">Loading the mask painter…</p>}>
                  <MaskPainter image={image} onChange={onMask} describedBy={errors.mask ? "mask-error" : undefined} />
                </Suspense>
              ) : (
                <p className="small-print">Choose a start image first; you paint the mask over it.</p>
              )}
              {errors.mask ? <small id="mask-error" className="field-error">{errors.mask}</small> : null}
            </fieldset>
          ) : null}
        </div>
      ) : null}
    </>
  );
}
