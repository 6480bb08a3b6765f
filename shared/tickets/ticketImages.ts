import { ApiError } from '../http/errors.js';
import type { ImportDependencies } from '../import/dependencies.js';
import { isImageType } from '../mail/images.js';

/**
 * Where agents get a ticket's images: through the app (GET /api/helpdesks/{id}/tickets/{number}/images/{name}),
 * which checks who asks, never at the private blob. A stored image's blob name is
 * `{helpdeskId}/{ticketNumber}/{sha256}.{extension}` (BlobImageStore), so the URL follows from it.
 */

/** The file part of a stored image's name: its content hash and extension. */
export const IMAGE_NAME = /^[A-Za-z0-9_-]{16,128}\.[a-z]{3,4}$/;

/** The URL of a stored image in ticket HTML, from its blob name. */
export function ticketImageUrl(blobName: string): string {
  const [helpdeskId, ticketNumber, name, ...rest] = blobName.split('/');
  if (!helpdeskId || !ticketNumber || !name || rest.length > 0) {
    throw new Error(`not the blob name of a ticket image: ${blobName}`);
  }
  return `/api/helpdesks/${encodeURIComponent(helpdeskId)}/tickets/${ticketNumber}/images/${name}`;
}

/**
 * A stored image of a ticket of this helpdesk; 404 for an unknown helpdesk or image. The type served is
 * the one detected from its bytes when it was stored, and only ever a raster image type: anything else
 * (a file kept with attachments.keep "all", named the same way) goes out as an opaque download.
 */
export async function ticketImage(
  deps: Pick<ImportDependencies, 'helpdesks' | 'images'>,
  input: { helpdeskId: string; ticketNumber: number; name: string },
) {
  const helpdesk = await deps.helpdesks.get(input.helpdeskId);
  if (!helpdesk) throw new ApiError('notFound', `helpdesk ${input.helpdeskId} does not exist`);
  const image = await deps.images.openImage(helpdesk.id, input.ticketNumber, input.name);
  if (!image) {
    throw new ApiError('notFound', `ticket ${input.ticketNumber} has no image ${input.name}`);
  }
  const inline = isImageType(image.contentType);
  return { ...image, inline, contentType: inline ? image.contentType : 'application/octet-stream' };
}
